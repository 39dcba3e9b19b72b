#include "common/prom_text.h"

#include <cmath>

#include <fmt/format.h>

namespace thruster {
namespace {

void AppendEscaped(std::string& out, std::string_view v, bool help) {
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && !help) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

void AppendNumber(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    fmt::format_to(std::back_inserter(out), "{}", v);
  }
}

}  // namespace

void PromText::Family(std::string_view name, std::string_view type,
                      std::string_view help) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  AppendEscaped(out_, help, /*help=*/true);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

void PromText::Series(std::string_view name, std::string_view suffix,
                      const PromLabels& labels, std::string_view extra_label,
                      std::string_view extra_value) {
  out_ += name;
  out_ += suffix;
  if (!labels.empty() || !extra_label.empty()) {
    out_ += '{';
    bool first = true;
    for (const auto& [k, v] : labels) {
      if (!first) out_ += ',';
      first = false;
      out_ += k;
      out_ += "=\"";
      AppendEscaped(out_, v, /*help=*/false);
      out_ += '"';
    }
    if (!extra_label.empty()) {
      if (!first) out_ += ',';
      out_ += extra_label;
      out_ += "=\"";
      out_ += extra_value;
      out_ += '"';
    }
    out_ += '}';
  }
  out_ += ' ';
}

void PromText::Sample(std::string_view name, const PromLabels& labels,
                      double value) {
  Series(name, "", labels, {}, {});
  AppendNumber(out_, value);
  out_ += '\n';
}

void PromText::Sample(std::string_view name, const PromLabels& labels,
                      int64_t value) {
  Series(name, "", labels, {}, {});
  out_ += std::to_string(value);
  out_ += '\n';
}

void PromText::Histogram(std::string_view name, const PromLabels& labels,
                         std::span<const double> bounds,
                         std::span<const int64_t> counts, double sum) {
  int64_t cumulative = 0;
  for (size_t i = 0; i <= bounds.size() && i < counts.size(); ++i) {
    cumulative += counts[i];
    std::string le;
    if (i == bounds.size()) {
      le = "+Inf";
    } else {
      AppendNumber(le, bounds[i]);
    }
    Series(name, "_bucket", labels, "le", le);
    out_ += std::to_string(cumulative);
    out_ += '\n';
  }
  Series(name, "_sum", labels, {}, {});
  AppendNumber(out_, sum);
  out_ += '\n';
  Series(name, "_count", labels, {}, {});
  out_ += std::to_string(cumulative);
  out_ += '\n';
}

}  // namespace thruster
