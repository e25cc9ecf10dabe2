#pragma once
// What a sampler hands out for one epoch: the items of one shard, in stream order, with
// iteration one at a time or in batches.
//
// Sharding is by position: the single-process stream of an epoch is a sequence of items
// at positions 0, 1, 2, ...; rank r of R keeps the positions p with p % R == r. The
// shards are therefore disjoint, their union is the single-process stream, and a global
// batch of R * B consecutive items is the union of the ranks' local batches of B.
#include <cstdint>
#include <iterator>
#include <span>
#include <utility>
#include <vector>

#include "tailor/core/config.hpp"
#include "tailor/core/error.hpp"

namespace tailor {

/// Rank `rank` of `world` ranks. The default is the whole stream.
struct shard {
    index_t rank = 0;
    index_t world = 1;

    constexpr bool owns(index_t position) const noexcept { return position % world == rank; }

    /// Number of the positions [0, length) this shard owns.
    constexpr index_t share_of(index_t length) const noexcept
    {
        return length > rank ? (length - rank + world - 1) / world : 0;
    }

    friend constexpr bool operator==(const shard&, const shard&) = default;
};

/// An anchor instance and the partner instance it is mixed with (dataset indices).
struct index_pair {
    index_t first = 0;
    index_t second = 0;
    friend constexpr bool operator==(const index_pair&, const index_pair&) = default;
};

namespace detail {

inline void require_valid_shard(const shard& part)
{
    require(part.world >= 1, "shard.world", ">= 1", part.world);
    require<index_error>(part.rank >= 0 && part.rank < part.world, "shard.rank",
                         concat("in [0, ", part.world, ")"), part.rank);
}

inline void require_valid_epoch(index_t epoch)
{
    require(epoch >= 0, "epoch", ">= 0", epoch);
}

}  // namespace detail

/// Consecutive batches of a sequence, each a span; the last may be short unless dropped.
template <class Item>
class batch_range {
public:
    class iterator {
    public:
        using value_type = std::span<const Item>;
        using difference_type = std::ptrdiff_t;
        using iterator_category = std::forward_iterator_tag;

        iterator() = default;
        iterator(std::span<const Item> items, index_t batch_size, index_t begin)
            : items_(items), batch_size_(batch_size), begin_(begin)
        {
        }

        value_type operator*() const
        {
            const index_t size = static_cast<index_t>(items_.size());
            const index_t end = begin_ + batch_size_ < size ? begin_ + batch_size_ : size;
            return items_.subspan(static_cast<std::size_t>(begin_), static_cast<std::size_t>(end - begin_));
        }
        iterator& operator++()
        {
            begin_ += batch_size_;
            return *this;
        }
        iterator operator++(int)
        {
            iterator before = *this;
            ++*this;
            return before;
        }
        friend bool operator==(const iterator& a, const iterator& b) noexcept { return a.begin_ == b.begin_; }

    private:
        std::span<const Item> items_;
        index_t batch_size_ = 1;
        index_t begin_ = 0;
    };

    batch_range(std::span<const Item> items, index_t batch_size, bool drop_last)
        : items_(items), batch_size_(batch_size)
    {
        detail::require(batch_size >= 1, "batch_size", ">= 1", batch_size);
        const index_t size = static_cast<index_t>(items.size());
        count_ = drop_last ? size / batch_size : (size + batch_size - 1) / batch_size;
    }

    iterator begin() const { return iterator(items_, batch_size_, 0); }
    iterator end() const { return iterator(items_, batch_size_, count_ * batch_size_); }
    index_t size() const noexcept { return count_; }
    std::span<const Item> operator[](index_t b) const { return *iterator(items_, batch_size_, b * batch_size_); }

private:
    std::span<const Item> items_;
    index_t batch_size_;
    index_t count_ = 0;
};

/// One shard of one epoch: its items in stream order. Item k sits at position
/// shard.rank + k * shard.world of the single-process stream.
template <class Item>
class epoch_sequence {
public:
    using value_type = Item;

    epoch_sequence() = default;
    epoch_sequence(std::vector<Item> items, index_t epoch, shard part, index_t stream_length)
        : items_(std::move(items)), epoch_(epoch), shard_(part), stream_length_(stream_length)
    {
    }

    index_t epoch() const noexcept { return epoch_; }
    const tailor::shard& part() const noexcept { return shard_; }
    /// Length of the single-process stream this shard was cut from.
    index_t stream_length() const noexcept { return stream_length_; }
    /// Position in the single-process stream of this shard's item k.
    index_t position(index_t k) const noexcept { return shard_.rank + k * shard_.world; }

    index_t size() const noexcept { return static_cast<index_t>(items_.size()); }
    bool empty() const noexcept { return items_.empty(); }
    const Item& operator[](index_t k) const noexcept { return items_[static_cast<std::size_t>(k)]; }
    auto begin() const noexcept { return items_.begin(); }
    auto end() const noexcept { return items_.end(); }
    std::span<const Item> items() const& noexcept { return items_; }

    /// Batches of `batch_size` consecutive items; the last is short unless `drop_last`.
    /// The batches are spans into this epoch, so it must outlive them.
    batch_range<Item> batches(index_t batch_size, bool drop_last = false) const&
    {
        return batch_range<Item>(items(), batch_size, drop_last);
    }

    // Spans into a temporary epoch would dangle: keep the epoch in a variable.
    std::span<const Item> items() const&& = delete;
    batch_range<Item> batches(index_t, bool = false) const&& = delete;

private:
    std::vector<Item> items_;
    index_t epoch_ = 0;
    tailor::shard shard_{};
    index_t stream_length_ = 0;
};

/// One shard of an epoch of single instances (a class sampler's output).
using instance_epoch = epoch_sequence<index_t>;
/// One shard of an epoch of (anchor, partner) pairs (a pair sampler's output).
using pair_epoch = epoch_sequence<index_pair>;

}  // namespace tailor
