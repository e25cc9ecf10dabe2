#pragma once
// What the demo writes: the many / medium / few table (stdout, CSV, JSON), the saved test
// predictions (so any number can be recomputed independently), and SVG plots.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "tailor/core/error.hpp"
#include "tailor/metrics.hpp"

namespace demo {

struct table_row {
    std::string method;
    std::string setting;  ///< e.g. "alpha=0.5" in a sweep; empty for the main table
    tailor::metrics::shot_report shots;
    double final_loss = 0;
};

inline std::ofstream open_output(const std::filesystem::path& path)
{
    std::ofstream out(path);
    if (!out) throw tailor::io_error(tailor::detail::concat("tailor demo: cannot write '", path.string(), "'"));
    return out;
}

/// A CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180).
inline std::string csv_field(const std::string& text)
{
    if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
    std::string out = "\"";
    for (char c : text) {
        if (c == '"') out += '"';
        out += c;
    }
    return out + '"';
}

inline double percent(double v) { return std::isnan(v) ? v : 100.0 * v; }

inline std::string format_cell(double v) { return std::isnan(v) ? "   -  " : fmt::format("{:6.2f}", percent(v)); }

/// The table; a group without classes (as on a small data set) shows "-".
inline void print_table(const std::vector<table_row>& rows, const tailor::metrics::shot_convention& c)
{
    using tailor::metrics::shot_group;
    fmt::print("\n  top-1 accuracy (%), mean of per-class accuracies; many: n > {}, medium: {} <= n <= {}, few: n < {}\n",
               c.many_above, c.few_below, c.many_above, c.few_below);
    std::size_t width = 16;
    for (const auto& r : rows) width = std::max(width, r.method.size() + (r.setting.empty() ? 0 : 1 + r.setting.size()));
    fmt::print("  {:<{}} {:>8} {:>8} {:>8} {:>8}\n", "method", width, "many", "medium", "few", "all");
    for (const auto& r : rows) {
        const std::string name = r.setting.empty() ? r.method : r.method + " " + r.setting;
        fmt::print("  {:<{}} {:>8} {:>8} {:>8} {:>8}\n", name, width, format_cell(r.shots[shot_group::many].accuracy),
                   format_cell(r.shots[shot_group::medium].accuracy), format_cell(r.shots[shot_group::few].accuracy),
                   format_cell(r.shots.overall.accuracy));
    }
    if (!rows.empty()) {
        const auto& s = rows.front().shots;
        fmt::print("  {:<{}} {:>8} {:>8} {:>8} {:>8}\n", "(classes)", width, s[shot_group::many].classes,
                   s[shot_group::medium].classes, s[shot_group::few].classes, s.overall.classes);
    }
}

inline void write_csv(const std::filesystem::path& path, const std::vector<table_row>& rows)
{
    auto out = open_output(path);
    out.precision(12);
    out << "method,setting,many,medium,few,all,many_classes,medium_classes,few_classes,final_loss\n";
    for (const auto& r : rows) {
        using tailor::metrics::shot_group;
        out << r.method << ',' << r.setting;
        for (auto g : {shot_group::many, shot_group::medium, shot_group::few}) out << ',' << percent(r.shots[g].accuracy);
        out << ',' << percent(r.shots.overall.accuracy);
        for (auto g : {shot_group::many, shot_group::medium, shot_group::few}) out << ',' << r.shots[g].classes;
        out << ',' << r.final_loss << '\n';
    }
}

inline nlohmann::json to_json(const std::vector<table_row>& rows)
{
    nlohmann::json list = nlohmann::json::array();
    for (const auto& r : rows) {
        using tailor::metrics::shot_group;
        nlohmann::json item{{"method", r.method}, {"setting", r.setting}, {"final_loss", r.final_loss}};
        for (auto g : {shot_group::many, shot_group::medium, shot_group::few}) {
            const auto& a = r.shots[g];
            item[std::string(tailor::metrics::name(g))] = {
                {"accuracy", std::isnan(a.accuracy) ? nlohmann::json(nullptr) : nlohmann::json(a.accuracy)},
                {"classes", a.classes},
                {"samples", a.samples}};
        }
        item["all"] = {{"accuracy", r.shots.overall.accuracy}, {"classes", r.shots.overall.classes},
                       {"samples", r.shots.overall.samples}};
        list.push_back(item);
    }
    return list;
}

/// A minimal SVG line/scatter chart: one series per entry, x optionally log-scaled.
struct series {
    std::string name;
    std::vector<double> x, y;
    bool lines = true;
};

inline void write_svg_chart(const std::filesystem::path& path, const std::string& title, const std::string& x_label,
                            const std::string& y_label, const std::vector<series>& all, bool log_x)
{
    const double width = 720, height = 440, left = 70, right = 170, top = 40, bottom = 55;
    double x0 = INFINITY, x1 = -INFINITY, y0 = 0, y1 = 1;
    for (const auto& s : all)
        for (double x : s.x) {
            const double v = log_x ? std::log10(x) : x;
            x0 = std::min(x0, v);
            x1 = std::max(x1, v);
        }
    if (!(x1 > x0)) x1 = x0 + 1;
    auto px = [&](double x) { return left + ((log_x ? std::log10(x) : x) - x0) / (x1 - x0) * (width - left - right); };
    auto py = [&](double y) { return height - bottom - (y - y0) / (y1 - y0) * (height - top - bottom); };
    static const char* palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"};

    auto out = open_output(path);
    out << fmt::format("<svg xmlns='http://www.w3.org/2000/svg' width='{}' height='{}' font-family='sans-serif' font-size='12'>\n",
                       width, height);
    out << "<rect width='100%' height='100%' fill='white'/>\n";
    out << fmt::format("<text x='{}' y='22' font-size='15'>{}</text>\n", left, title);
    for (int k = 0; k <= 5; ++k) {  // y grid in 20% steps
        const double y = k / 5.0;
        out << fmt::format("<line x1='{}' x2='{}' y1='{:.1f}' y2='{:.1f}' stroke='#ddd'/>\n", left, width - right, py(y), py(y));
        out << fmt::format("<text x='{}' y='{:.1f}' text-anchor='end'>{}</text>\n", left - 6, py(y) + 4, k * 20);
    }
    const int ticks = 5;
    for (int k = 0; k <= ticks; ++k) {
        const double v = x0 + (x1 - x0) * k / ticks;
        const double label = log_x ? std::pow(10.0, v) : v;
        const double xp = left + (v - x0) / (x1 - x0) * (width - left - right);
        out << fmt::format("<line x1='{:.1f}' x2='{:.1f}' y1='{}' y2='{}' stroke='#ddd'/>\n", xp, xp, top, height - bottom);
        out << fmt::format("<text x='{:.1f}' y='{}' text-anchor='middle'>{:.3g}</text>\n", xp, height - bottom + 16, label);
    }
    out << fmt::format("<text x='{}' y='{}' text-anchor='middle'>{}</text>\n", (left + width - right) / 2, height - 12, x_label);
    out << fmt::format("<text transform='translate(18,{}) rotate(-90)' text-anchor='middle'>{}</text>\n", (top + height - bottom) / 2,
                       y_label);
    for (std::size_t s = 0; s < all.size(); ++s) {
        const char* colour = palette[s % 8];
        const auto& ser = all[s];
        if (ser.lines) {
            out << "<polyline fill='none' stroke-width='2' stroke='" << colour << "' points='";
            for (std::size_t i = 0; i < ser.x.size(); ++i)
                if (!std::isnan(ser.y[i])) out << fmt::format("{:.1f},{:.1f} ", px(ser.x[i]), py(ser.y[i]));
            out << "'/>\n";
        }
        for (std::size_t i = 0; i < ser.x.size(); ++i)
            if (!std::isnan(ser.y[i]))
                out << fmt::format("<circle cx='{:.1f}' cy='{:.1f}' r='{}' fill='{}' fill-opacity='0.7'/>\n", px(ser.x[i]),
                                   py(ser.y[i]), ser.lines ? 3 : 2.5, colour);
        out << fmt::format("<rect x='{}' y='{}' width='12' height='12' fill='{}'/>\n", width - right + 14, top + 20 * s, colour);
        out << fmt::format("<text x='{}' y='{}'>{}</text>\n", width - right + 32, top + 20 * s + 11, ser.name);
    }
    out << "</svg>\n";
}

}  // namespace demo
