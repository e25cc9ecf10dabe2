#pragma once
// A one-line progress bar on stderr, redrawn in place (training epochs, feature extraction).
#include <algorithm>
#include <cstdio>
#include <string>

#include "tailor/core/config.hpp"

namespace demo {

class progress_bar {
public:
    progress_bar(bool enabled, std::string label, tailor::index_t total)
        : enabled_(enabled), label_(std::move(label)), total_(total)
    {
    }

    /// Training: `done` of `total` epochs, with the last epoch's mean loss.
    void update(tailor::index_t done, double loss) const
    {
        if (!enabled_) return;
        char text[32];
        std::snprintf(text, sizeof text, "loss %.4f", loss);
        draw(done, text);
    }

    /// Anything else: `done` of `total`, followed by `note`.
    void update(tailor::index_t done, const std::string& note) const
    {
        if (enabled_) draw(done, note.c_str());
    }

private:
    void draw(tailor::index_t done, const char* note) const
    {
        const int width = 30, filled = int(double(width) * double(done) / double(std::max<tailor::index_t>(total_, 1)));
        std::fprintf(stderr, "\r  %-10s [%.*s%*s] %3lld/%lld  %s", label_.c_str(), filled,
                     "##############################", width - filled, "", static_cast<long long>(done),
                     static_cast<long long>(total_), note);
        if (done == total_) std::fprintf(stderr, "\n");
        std::fflush(stderr);
    }

    bool enabled_;
    std::string label_;
    tailor::index_t total_;
};

}  // namespace demo
