// Image decoding, PIL-exact resizing and CLIP preprocessing. Golden data:
// tools/image_reference.py (PIL 9.4 decode, convert("RGB") and Image.resize; torchvision
// 0.14's Resize(R, BICUBIC), CenterCrop(R), ToTensor, Normalize with CLIP's statistics).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "tailor/image/decode.hpp"
#include "tailor/image/preprocess.hpp"
#include "tailor/image/resize.hpp"

namespace {

namespace fs = std::filesystem;
namespace img = tailor::image;
using Catch::Matchers::Contains;
using tailor::index_t;

// stb_image and libjpeg(-turbo, inside PIL) decode the same JPEG differently: their IDCTs
// and colour conversions round differently and stb upsamples chroma its own way. Measured
// on the fixtures (4:2:0 colour, gray): see docs/image.md. PNG, BMP and the rest are exact.
constexpr int jpeg_decode_levels = 4;
// After the resize the deviation shrinks or stays (a weighted average of deviations).
constexpr int jpeg_crop_levels = 4;

fs::path fixture_dir()
{
#ifdef TAILOR_FIXTURE_DIR
    return fs::path(TAILOR_FIXTURE_DIR) / "image";
#else
    return fs::path(__FILE__).parent_path() / "fixtures" / "image";
#endif
}

bool is_jpeg(const std::string& name) { return name.ends_with(".jpg"); }

std::vector<std::byte> file_bytes(const fs::path& path) { return img::read_file_bytes(path); }

void write_bytes(const fs::path& path, std::span<const std::byte> bytes)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

/// A fresh directory under the system's temporary folder, removed at the end of the test.
struct scratch_dir {
    fs::path path;
    scratch_dir()
    {
        static int counter = 0;
        path = fs::temp_directory_path() /
               ("tailor_image_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
        fs::create_directories(path);
    }
    ~scratch_dir()
    {
        std::error_code ignored;
        fs::remove_all(path, ignored);
    }
};

/// Largest |a - b| over two images of equal extents.
int max_level_difference(const img::image8_view& a, const img::image8_view& b)
{
    REQUIRE(a.extents() == b.extents());
    int worst = 0;
    for (index_t y = 0; y < a.extent(0); ++y)
        for (index_t x = 0; x < a.extent(1); ++x)
            for (index_t c = 0; c < a.extent(2); ++c)
                worst = std::max(worst, std::abs(int{a(y, x, c)} - int{b(y, x, c)}));
    return worst;
}

img::image8_view channel0(const img::image8_view& image)
{
    return img::image8_view(image.data(), {image.extent(0), image.extent(1), 1}, image.strides());
}

struct manifest_line {
    std::string kind;
    std::vector<std::string> fields;
};

std::vector<manifest_line> manifest(const std::string& kind)
{
    std::ifstream in(fixture_dir() / "manifest.txt");
    REQUIRE(in.good());
    std::vector<manifest_line> lines;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream words(line);
        manifest_line entry;
        words >> entry.kind;
        for (std::string word; words >> word;) entry.fields.push_back(word);
        if (entry.kind == kind) lines.push_back(entry);
    }
    REQUIRE(!lines.empty());
    return lines;
}

img::image8 fixture(const std::string& name) { return img::read_image(fixture_dir() / name); }

/// A seeded image of random pixels, smooth enough that every filter has work to do.
img::image8 random_image(index_t h, index_t w, index_t c, std::uint32_t seed)
{
    std::mt19937 gen(seed);
    img::image8 out({h, w, c});
    for (auto& v : out) v = static_cast<std::uint8_t>(gen() & 0xFF);
    return out;
}

}  // namespace

TEST_CASE("decode: every input matches PIL's convert(\"RGB\")", "[image]")
{
    for (const manifest_line& m : manifest("decode")) {
        const std::string& input = m.fields.at(0);
        INFO(input);
        const img::image8 ours = fixture(input);
        const img::image8 pil = fixture(m.fields.at(1));
        REQUIRE(ours.extents() == pil.extents());
        CHECK(ours.extent(2) == 3);
        const int difference = max_level_difference(ours.view(), pil.view());
        INFO("max level difference " << difference);
        CHECK(difference <= (is_jpeg(input) ? jpeg_decode_levels : 0));
        // The same bytes from memory decode the same.
        const img::image8 from_memory = img::decode_image(file_bytes(fixture_dir() / input));
        CHECK(max_level_difference(from_memory.view(), ours.view()) == 0);
        const img::image_info info = img::probe_image(fixture_dir() / input);
        CHECK(info.height == ours.extent(0));
        CHECK(info.width == ours.extent(1));
    }
}

TEST_CASE("resize: bit-exact with PIL's Image.resize", "[image]")
{
    const auto filter_of = [](const std::string& name) {
        if (name == "bilinear") return img::resample::bilinear;
        if (name == "lanczos") return img::resample::lanczos;
        REQUIRE(name == "bicubic");
        return img::resample::bicubic;
    };
    for (const manifest_line& m : manifest("resize")) {
        const std::string& golden_name = m.fields.at(5);
        INFO(golden_name);
        const img::image8 source = fixture(m.fields.at(0));
        const bool gray = m.fields.at(1) == "1";
        const index_t w = std::stoi(m.fields.at(3)), h = std::stoi(m.fields.at(4));
        const img::image8 golden = fixture(golden_name);
        const img::image8_view in = gray ? channel0(source.view()) : img::image8_view(source.view());
        const img::image8 ours = img::resize(in, h, w, filter_of(m.fields.at(2)));
        const img::image8_view expected = gray ? channel0(golden.view()) : img::image8_view(golden.view());
        CHECK(max_level_difference(ours.view(), expected) == 0);
    }
}

TEST_CASE("preprocess: torchvision's Resize + CenterCrop pixels and CLIP tensors", "[image]")
{
    const img::clip_image_preprocess defaults;
    for (const manifest_line& m : manifest("crop")) {
        const std::string& input = m.fields.at(0);
        const index_t r = std::stoi(m.fields.at(1));
        INFO(input << " at R = " << r);
        const img::image8 image = fixture(input);
        const img::image8 golden = fixture(m.fields.at(2));
        const img::image8 crop = img::clip_resize_crop(image.view(), r);
        const int difference = max_level_difference(crop.view(), golden.view());
        INFO("max level difference " << difference);
        CHECK(difference <= (is_jpeg(input) ? jpeg_crop_levels : 0));

        // The tensor is (crop / 255 - mean) / std in float32, as torchvision computes it
        // (the reference script checks that identity on torchvision's own output).
        img::clip_image_preprocess options;
        options.resolution = r;
        const tailor::tensor<float, 3> tensor = img::preprocess(image.view(), options);
        float worst = 0;
        for (index_t c = 0; c < 3; ++c)
            for (index_t y = 0; y < r; ++y)
                for (index_t x = 0; x < r; ++x) {
                    const float expected = (static_cast<float>(golden(y, x, c)) / 255.0f - defaults.mean[c]) /
                                           defaults.std[c];
                    worst = std::max(worst, std::abs(tensor(c, y, x) - expected));
                }
        INFO("max abs difference " << worst);
        CHECK(worst <= (is_jpeg(input) ? jpeg_crop_levels / 255.0f / 0.26f : 0.0f));
    }
    for (const manifest_line& m : manifest("preprocess")) {
        const std::string& input = m.fields.at(0);
        const index_t r = std::stoi(m.fields.at(1));
        INFO(input << " at R = " << r);
        std::vector<std::byte> raw = file_bytes(fixture_dir() / m.fields.at(2));
        REQUIRE(raw.size() == static_cast<std::size_t>(3 * r * r) * sizeof(float));
        std::vector<float> torchvision(static_cast<std::size_t>(3 * r * r));
        std::memcpy(torchvision.data(), raw.data(), raw.size());  // little-endian, as x86 and ARM
        img::clip_image_preprocess options;
        options.resolution = r;
        const tailor::tensor<float, 3> ours = img::preprocess(fixture(input).view(), options);
        CHECK(std::memcmp(ours.data(), torchvision.data(), raw.size()) == 0);  // bit for bit
    }
}

TEST_CASE("preprocess: torchvision's geometry (shortest side, truncation, round half to even)", "[image]")
{
    struct expected {
        index_t height, width, resolution, resized_height, resized_width, top, left;
    };
    const expected cases[] = {
        {46, 31, 24, 35, 24, 6, 0},    // excess 11: 5.5 -> 6
        {14, 9, 24, 37, 24, 6, 0},     // upscale; excess 13: 6.5 -> 6
        {29, 38, 24, 24, 31, 0, 4},    // 3.5 -> 4
        {29, 38, 32, 32, 41, 0, 4},    // 4.5 -> 4
        {97, 161, 24, 24, 39, 0, 8},   // 7.5 -> 8
        {27, 27, 24, 24, 24, 0, 0},    // square
        {24, 100, 24, 24, 100, 0, 38}, // short side already R: no resize at all
        {1, 1000, 224, 224, 224000, 0, 111888},
    };
    for (const expected& e : cases) {
        const img::clip_geometry g = img::clip_resize_geometry(e.height, e.width, e.resolution);
        INFO(e.height << " x " << e.width << " at " << e.resolution);
        CHECK(g.resized_height == e.resized_height);
        CHECK(g.resized_width == e.resized_width);
        CHECK(g.top == e.top);
        CHECK(g.left == e.left);
    }
}

TEST_CASE("resize: invariants (constants stay constant, windows, strides, identity)", "[image]")
{
    SECTION("a constant image stays that constant under every filter and size")
    {
        for (const auto filter : {img::resample::bilinear, img::resample::bicubic, img::resample::lanczos})
            for (const int value : {0, 1, 127, 254, 255}) {
                const img::image8 flat({17, 23, 3}, static_cast<std::uint8_t>(value));
                for (const auto& [h, w] : {std::pair<index_t, index_t>{1, 1}, {5, 40}, {17, 7}, {64, 64}, {3, 23}}) {
                    const img::image8 out = img::resize(flat.view(), h, w, filter);
                    CHECK(std::all_of(out.begin(), out.end(), [&](std::uint8_t v) { return v == value; }));
                }
            }
    }
    SECTION("a window is the same pixels as the full resize")
    {
        const img::image8 source = random_image(41, 29, 3, 7);
        const img::image8 full = img::resize(source.view(), 57, 19);
        img::image8 window({20, 11, 3});
        img::resize_window(source.view(), 57, 19, 30, 5, window.view());
        CHECK(max_level_difference(window.view(), img::crop(full.view(), 30, 5, 20, 11)) == 0);
    }
    SECTION("strided input and output views give the same pixels as contiguous ones")
    {
        // An RGBA buffer seen as its RGB channels, inside a padded frame.
        const img::image8 rgba = random_image(30, 40, 4, 11);
        const img::image8_view rgb(rgba.data() + 4 * (40 * 3 + 2), {20, 30, 3}, {4 * 40, 4, 1});
        img::image8 packed({20, 30, 3});
        for (index_t y = 0; y < 20; ++y)
            for (index_t x = 0; x < 30; ++x)
                for (index_t c = 0; c < 3; ++c) packed(y, x, c) = rgb(y, x, c);
        const img::image8 expected = img::resize(packed.view(), 13, 9);
        std::vector<std::uint8_t> planar(3 * 13 * 9);
        const img::image8_mut_view out(planar.data(), {13, 9, 3}, {9, 1, 13 * 9});  // CHW storage
        img::resize_into(rgb, out);
        CHECK(max_level_difference(out, expected.view()) == 0);
    }
    SECTION("the same size is a copy; one changed axis filters only that axis")
    {
        const img::image8 source = random_image(12, 16, 3, 3);
        CHECK(max_level_difference(img::resize(source.view(), 12, 16).view(), source.view()) == 0);
        // Resizing the width alone equals resizing each row as a 1-row image.
        const img::image8 wide = img::resize(source.view(), 12, 25);
        for (index_t y = 0; y < 12; ++y) {
            const img::image8 row = img::resize(img::crop(source.view(), y, 0, 1, 16), 1, 25);
            CHECK(max_level_difference(row.view(), img::crop(wide.view(), y, 0, 1, 25)) == 0);
        }
    }
}

TEST_CASE("preprocess: channels convert as PIL's convert(\"RGB\")", "[image]")
{
    const img::image8 rgba = random_image(33, 21, 4, 5);
    img::image8 rgb({33, 21, 3}), gray({33, 21, 1}), gray_rgb({33, 21, 3}), la({33, 21, 2});
    for (index_t y = 0; y < 33; ++y)
        for (index_t x = 0; x < 21; ++x) {
            for (index_t c = 0; c < 3; ++c) rgb(y, x, c) = rgba(y, x, c);
            gray(y, x, 0) = la(y, x, 0) = rgba(y, x, 0);
            la(y, x, 1) = rgba(y, x, 3);
            for (index_t c = 0; c < 3; ++c) gray_rgb(y, x, c) = rgba(y, x, 0);
        }
    img::clip_image_preprocess options;
    options.resolution = 16;
    const auto same = [](const tailor::tensor<float, 3>& a, const tailor::tensor<float, 3>& b) {
        return std::equal(a.begin(), a.end(), b.begin(), b.end());
    };
    CHECK(same(img::preprocess(rgba.view(), options), img::preprocess(rgb.view(), options)));  // alpha dropped
    CHECK(same(img::preprocess(gray.view(), options), img::preprocess(gray_rgb.view(), options)));
    CHECK(same(img::preprocess(la.view(), options), img::preprocess(gray_rgb.view(), options)));
    CHECK(img::clip_resize_crop(gray.view(), 16).extent(2) == 3);
}

TEST_CASE("preprocess: batches and files match one image at a time", "[image]")
{
    img::clip_image_preprocess options;
    options.resolution = 24;
    std::vector<img::image8> images;
    images.push_back(random_image(30, 50, 3, 1));
    images.push_back(random_image(24, 24, 3, 2));
    images.push_back(random_image(9, 70, 1, 3));
    images.push_back(random_image(100, 31, 4, 4));
    images.push_back(fixture("photo.jpg"));
    const auto n = static_cast<index_t>(images.size());
    tailor::tensor<float, 4> batch({n, 3, 24, 24}, -99.0f);
    img::preprocess_batch(std::span<const img::image8>(images), batch.view(), options);
    for (index_t i = 0; i < n; ++i) {
        const tailor::tensor<float, 3> one = img::preprocess(images[static_cast<std::size_t>(i)].view(), options);
        CHECK(std::equal(one.begin(), one.end(), batch.data() + i * 3 * 24 * 24));
    }

    const std::vector<fs::path> paths = {fixture_dir() / "rgb_portrait.png", fixture_dir() / "photo.jpg",
                                         fixture_dir() / "palette_landscape.png", fixture_dir() / "tiny.bmp"};
    tailor::tensor<float, 4> from_files({4, 3, 24, 24});
    img::preprocess_files(paths, from_files.view(), options);
    for (index_t i = 0; i < 4; ++i) {
        const tailor::tensor<float, 3> one = img::preprocess(img::read_image(paths[static_cast<std::size_t>(i)]).view(), options);
        CHECK(std::equal(one.begin(), one.end(), from_files.data() + i * 3 * 24 * 24));
    }

    // A bad file in the list: the error names it, after the others ran.
    std::vector<fs::path> with_missing = paths;
    with_missing[2] = fixture_dir() / "no_such_image.png";
    CHECK_THROWS_MATCHES(img::preprocess_files(with_missing, from_files.view(), options), tailor::io_error,
                         Catch::Matchers::Predicate<tailor::io_error>([](const tailor::io_error& e) {
                             return std::string(e.what()).find("no_such_image.png") != std::string::npos;
                         }));
    // An empty image in a batch is named by its index.
    std::vector<img::image8_view> views = {images[0].view(), img::image8_view(nullptr, {0, 5, 3})};
    tailor::tensor<float, 4> two({2, 3, 24, 24});
    CHECK_THROWS_WITH(img::preprocess_batch(std::span<const img::image8_view>(views), two.view(), options),
                      Contains("images[1]"));
}

TEST_CASE("decode and preprocess: errors name the input and the reason", "[image]")
{
    scratch_dir dir;
    const fs::path missing = dir.path / "missing.png";
    CHECK_THROWS_AS(img::read_image(missing), tailor::io_error);
    CHECK_THROWS_WITH(img::read_image(missing), Contains("missing.png") && Contains("No such file"));
    CHECK_THROWS_AS(img::read_image(dir.path), tailor::io_error);  // a directory

    const std::vector<std::byte> png = file_bytes(fixture_dir() / "rgb_portrait.png");
    const fs::path truncated = dir.path / "truncated.png";
    write_bytes(truncated, std::span(png).first(png.size() / 2));
    CHECK_THROWS_AS(img::read_image(truncated), tailor::parse_error);
    CHECK_THROWS_WITH(img::read_image(truncated), Contains("truncated.png") && Contains("IDAT chunk declares"));
    // Whole chunks but half of the image data: stb itself has to notice (CRCs are not checked).
    const auto be32 = [&](std::size_t at) {
        std::size_t v = 0;
        for (std::size_t i = 0; i < 4; ++i) v = v << 8 | std::to_integer<std::size_t>(png[at + i]);
        return v;
    };
    std::size_t idat = 8;
    while (std::string_view(reinterpret_cast<const char*>(png.data()) + idat + 4, 4) != "IDAT") idat += 12 + be32(idat);
    const std::size_t half = be32(idat) / 2;
    std::vector<std::byte> short_idat(png.begin(), png.begin() + static_cast<std::ptrdiff_t>(idat + 8 + half));
    for (std::size_t i = 0; i < 4; ++i) short_idat[idat + i] = std::byte((half >> (24 - 8 * i)) & 0xFF);
    for (const int b : {0, 0, 0, 0, 0, 0, 0, 0, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82})
        short_idat.push_back(std::byte(b));  // the IDAT's (unchecked) CRC, then IEND
    CHECK_THROWS_AS(img::decode_image(short_idat, {}, "short"), tailor::parse_error);
    CHECK_THROWS_WITH(img::decode_image(short_idat, {}, "short"), Contains("'short'") && Contains("stb_image"));

    const fs::path text = dir.path / "notes.png";
    const std::string words = "these bytes are not an image, whatever the extension says";
    write_bytes(text, std::as_bytes(std::span(words)));
    CHECK_THROWS_AS(img::read_image(text), tailor::parse_error);
    CHECK_THROWS_WITH(img::read_image(text), Contains("notes.png") && Contains("unknown image type"));

    const fs::path empty = dir.path / "empty.jpg";
    write_bytes(empty, {});
    CHECK_THROWS_AS(img::read_image(empty), tailor::parse_error);
    CHECK_THROWS_WITH(img::read_image(empty), Contains("empty.jpg") && Contains("no bytes"));
    CHECK_THROWS_AS(img::decode_image(std::span<const std::byte>{}), tailor::parse_error);

    // A PNG header claiming 65537 x 10 pixels is refused before anything is allocated.
    // (stb refuses w x h x channels >= 2^30 itself, with "too large".)
    std::vector<std::byte> huge = png;
    const auto put_u32 = [&](std::size_t at, std::uint32_t v) {
        for (int i = 0; i < 4; ++i) huge[at + static_cast<std::size_t>(i)] = std::byte((v >> (24 - 8 * i)) & 0xFF);
    };
    put_u32(16, 65537);  // IHDR width, then height (stb does not check the CRC)
    put_u32(20, 10);
    CHECK_THROWS_AS(img::decode_image(huge), tailor::parse_error);
    CHECK_THROWS_WITH(img::decode_image(huge), Contains("decode_limits") && Contains("65537 x 10"));
    // Limits are the caller's to set.
    img::decode_limits small;
    small.max_pixels = 100;
    CHECK_THROWS_WITH(img::decode_image(png, small, "portrait"), Contains("portrait") && Contains("31 x 46"));
}

TEST_CASE("decode: inputs stb_image 2.27 mishandles are refused or routed around", "[image]")
{
    // Each was found by fuzz/fuzz_image.cpp with stb compiled under ASan/UBSan (docs/image.md).
    const std::vector<std::byte> jpeg = file_bytes(fixture_dir() / "photo.jpg");
    const auto find_marker = [&](unsigned marker) {
        for (std::size_t i = 0; i + 1 < jpeg.size(); ++i)
            if (jpeg[i] == std::byte{0xFF} && std::to_integer<unsigned>(jpeg[i + 1]) == marker) return i;
        FAIL("marker not found");
        return std::size_t{0};
    };
    SECTION("a Huffman table of more than 256 codes")
    {
        std::vector<std::byte> bad = jpeg;
        const std::size_t dht = find_marker(0xC4);  // FF C4, length, class/id, 16 counts
        for (std::size_t i = 0; i < 16; ++i) bad[dht + 5 + i] = std::byte{255};
        CHECK_THROWS_AS(img::decode_image(bad), tailor::parse_error);
        CHECK_THROWS_WITH(img::decode_image(bad, {}, "dht.jpg"), Contains("dht.jpg") && Contains("4080 codes"));
    }
    SECTION("a scan naming a Huffman table no DHT defines")
    {
        std::vector<std::byte> bad = jpeg;
        const std::size_t sos = find_marker(0xDA);  // FF DA, length, Ns, (component, Td << 4 | Ta)...
        bad[sos + 6] = std::byte{0x33};
        CHECK_THROWS_WITH(img::decode_image(bad), Contains("no DHT segment defines"));
    }
    SECTION("PNM: a 10-digit size, 16-bit samples")
    {
        const std::string overflow = "P5\n4294967296 1\n255\n\x01";
        CHECK_THROWS_WITH(img::decode_image(std::as_bytes(std::span(overflow))), Contains("more than 9 digits"));
        // stb 2.27 reads 16-bit samples byte-swapped: refused rather than decoded wrong.
        const std::string deep = std::string("P5 2 1 65535\n") + std::string("\x12\x34\xAB\xCD", 4);
        CHECK_THROWS_WITH(img::decode_image(std::as_bytes(std::span(deep))), Contains("16-bit PNM"));
        const std::string shallow = std::string("P5 # comment\n2 1 255\n") + std::string("\x12\xAB", 2);
        const img::image8 gray = img::decode_image(std::as_bytes(std::span(shallow)));
        REQUIRE(gray.extents() == tailor::extents_t<3>{1, 2, 3});
        for (index_t c = 0; c < 3; ++c) {
            CHECK(gray(0, 0, c) == 0x12);
            CHECK(gray(0, 1, c) == 0xAB);
        }
    }

    const img::image8 image = fixture("rgb_portrait.png");
    img::clip_image_preprocess options;
    for (const index_t r : {index_t{0}, index_t{-3}}) {
        options.resolution = r;
        CHECK_THROWS_AS(img::preprocess(image.view(), options), tailor::argument_error);
        CHECK_THROWS_WITH(img::preprocess(image.view(), options), Contains("options.resolution"));
    }
    options.resolution = 24;
    tailor::tensor<float, 3> wrong({3, 24, 23});
    CHECK_THROWS_AS(img::preprocess(image.view(), wrong.view(), options), tailor::shape_error);
    CHECK_THROWS_WITH(img::preprocess(image.view(), wrong.view(), options),
                      Contains("'out'") && Contains("[3, 24, 24]") && Contains("[3, 24, 23]"));
    tailor::tensor<float, 4> wrong_batch({2, 3, 24, 24});
    CHECK_THROWS_AS(img::preprocess_batch(std::span<const img::image8>(&image, 1), wrong_batch.view(), options),
                    tailor::shape_error);
    options.std[1] = 0;
    CHECK_THROWS_WITH(img::preprocess(image.view(), options), Contains("options.std[1]"));
    options.std[1] = 0.26f;

    CHECK_THROWS_AS(img::preprocess(img::image8_view(nullptr, {0, 0, 3}), options), tailor::shape_error);
    const img::image8 five_channels({4, 4, 5});
    CHECK_THROWS_WITH(img::preprocess(five_channels.view(), options), Contains("'image'") && Contains("1 to 4 channels"));
    CHECK_THROWS_WITH(img::resize(image.view(), 0, 5), Contains("'size'"));
    img::image8 out({4, 4, 1});
    CHECK_THROWS_AS(img::resize_into(image.view(), out.view()), tailor::shape_error);  // channel count
    img::image8 window({4, 4, 3});
    CHECK_THROWS_AS(img::resize_window(image.view(), 10, 10, 8, 0, window.view()), tailor::index_error);
}
