#include "experiments/access_log.h"

#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <cstring>

#include <nlohmann/json.hpp>

#include "core/time.h"

namespace tailor {

// ---- LogLineReader ------------------------------------------------------------------------

namespace {
constexpr size_t kReadChunk = 1 << 20;
}  // namespace

LogLineReader::~LogLineReader() {
  if (file_ != nullptr) gzclose(static_cast<gzFile>(file_));
}

Result<std::unique_ptr<LogLineReader>> LogLineReader::Open(const std::string& path) {
  gzFile f = path == "-" ? gzdopen(dup(STDIN_FILENO), "rb") : gzopen(path.c_str(), "rb");
  if (f == nullptr) return Status::Error("cannot open " + path + ": " + std::strerror(errno));
  gzbuffer(f, 1 << 18);
  std::unique_ptr<LogLineReader> r(new LogLineReader());
  r->file_ = f;
  r->cap_ = kMaxLogLineLength + kReadChunk;
  r->buf_.reset(new char[r->cap_]);
  return r;
}

bool LogLineReader::Fill() {
  if (eof_) return false;
  if (begin_ > 0) {  // keep the partial line at the front
    std::memmove(buf_.get(), buf_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  size_t room = cap_ - end_;
  if (room == 0) return false;
  int n = gzread(static_cast<gzFile>(file_), buf_.get() + end_,
                 static_cast<unsigned>(room < kReadChunk ? room : kReadChunk));
  if (n < 0) {
    int errnum = 0;
    const char* msg = gzerror(static_cast<gzFile>(file_), &errnum);
    error_ = msg ? msg : "read error";
    eof_ = true;
    return false;
  }
  if (n == 0) {
    // A truncated gzip stream reads as end of data with an error set.
    int errnum = 0;
    const char* msg = gzerror(static_cast<gzFile>(file_), &errnum);
    if (errnum != Z_OK && errnum != Z_STREAM_END) error_ = msg ? msg : "read error";
    eof_ = true;
    return false;
  }
  end_ += static_cast<size_t>(n);
  return true;
}

LogLineReader::Next LogLineReader::ReadLine(std::string_view* line) {
  size_t scan_from = begin_;  // bytes before this offset hold no '\n'
  bool skipping = false;      // inside a line that is too long
  for (;;) {
    const char* nl =
        static_cast<const char*>(std::memchr(buf_.get() + scan_from, '\n', end_ - scan_from));
    if (nl != nullptr) {
      size_t line_begin = begin_;
      size_t line_end = static_cast<size_t>(nl - buf_.get());
      begin_ = line_end + 1;
      if (skipping || line_end - line_begin > kMaxLogLineLength) return Next::kTooLong;
      if (line_end > line_begin && buf_[line_end - 1] == '\r') --line_end;
      *line = std::string_view(buf_.get() + line_begin, line_end - line_begin);
      return Next::kLine;
    }
    if (end_ - begin_ > kMaxLogLineLength) {
      // Drop what we have of this over-long line and keep looking for its end.
      skipping = true;
      begin_ = end_;
    }
    size_t scanned = end_ - begin_;  // relative: Fill() moves the pending bytes to offset 0
    if (!Fill()) {
      if (!error_.empty()) return Next::kError;
      if (end_ == begin_ && !skipping) return Next::kEnd;
      size_t line_begin = begin_;  // the last line, without '\n'
      size_t line_end = end_;
      begin_ = end_;
      if (skipping || line_end - line_begin > kMaxLogLineLength) return Next::kTooLong;
      if (line_end > line_begin && buf_[line_end - 1] == '\r') --line_end;
      *line = std::string_view(buf_.get() + line_begin, line_end - line_begin);
      return Next::kLine;
    }
    scan_from = begin_ + scanned;
  }
}

// ---- Time -----------------------------------------------------------------------------------

std::optional<int64_t> ParseLogTime(std::string_view t) {
  if (t.size() >= 19 && t[4] == '-') {
    int y, mo, d, h, mi, s;
    if (!ParseFixedDigits(t, 0, 4, &y) || !ParseFixedDigits(t, 5, 2, &mo) || t[7] != '-' ||
        !ParseFixedDigits(t, 8, 2, &d) || (t[10] != 'T' && t[10] != ' ') ||
        !ParseFixedDigits(t, 11, 2, &h) || t[13] != ':' || !ParseFixedDigits(t, 14, 2, &mi) ||
        t[16] != ':' || !ParseFixedDigits(t, 17, 2, &s) || mo < 1 || mo > 12 || d < 1 ||
        d > 31 || h > 23 || mi > 59 || s > 60) {
      return std::nullopt;
    }
    size_t i = 19;
    int64_t ms = 0;
    if (i < t.size() && t[i] == '.') {
      ++i;
      int64_t scale = 100;
      size_t digits = 0;
      while (i < t.size() && t[i] >= '0' && t[i] <= '9') {
        ms += (t[i] - '0') * scale;
        scale /= 10;
        ++i;
        ++digits;
      }
      if (digits == 0) return std::nullopt;
    }
    int64_t offset_min = 0;
    if (i < t.size() && t[i] == 'Z') {
      ++i;
    } else if (i < t.size() && (t[i] == '+' || t[i] == '-')) {
      int oh, om;
      int sign = t[i] == '-' ? -1 : 1;
      if (!ParseFixedDigits(t, i + 1, 2, &oh)) return std::nullopt;
      size_t j = i + 3;
      if (j < t.size() && t[j] == ':') ++j;
      if (!ParseFixedDigits(t, j, 2, &om)) return std::nullopt;
      offset_min = sign * (oh * 60 + om);
      i = j + 2;
    }
    if (i != t.size()) return std::nullopt;
    int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
    return (((days * 24 + h) * 60 + mi - offset_min) * 60 + s) * 1000 + ms;
  }
  // $msec: "1795459603.123"
  int64_t sec = 0;
  size_t i = 0;
  for (; i < t.size() && t[i] >= '0' && t[i] <= '9'; ++i) {
    if (i > 15) return std::nullopt;
    sec = sec * 10 + (t[i] - '0');
  }
  if (i == 0) return std::nullopt;
  int64_t ms = 0;
  if (i < t.size() && t[i] == '.') {
    ++i;
    int64_t scale = 100;
    size_t digits = 0;
    for (; i < t.size() && t[i] >= '0' && t[i] <= '9'; ++i, ++digits) {
      ms += (t[i] - '0') * scale;
      scale /= 10;
    }
    if (digits == 0) return std::nullopt;
  }
  if (i != t.size()) return std::nullopt;
  return sec * 1000 + ms;
}

// ---- JSON line ------------------------------------------------------------------------------

namespace {

// nginx's `escape=json` copies bytes >= 0x80 as they are, so a decoded $uri can hold bytes
// that are not UTF-8, which JSON parsers refuse. Such a byte B is given to the parser as the
// private-use code point U+F700+B (U+F780..U+F7FF) and turned back into B in the values read.
constexpr unsigned kRawBytePlane = 0xF700;

// The length of the well-formed UTF-8 sequence at s[i] (Unicode table 3-7), 0 when none.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0; };
  auto in = [](unsigned char c, unsigned lo, unsigned hi) { return c >= lo && c <= hi; };
  unsigned char c = byte(0);
  if (c < 0x80) return 1;
  if (in(c, 0xC2, 0xDF)) return in(byte(1), 0x80, 0xBF) ? 2 : 0;
  if (in(c, 0xE0, 0xEF)) {
    unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    return in(byte(1), lo, hi) && in(byte(2), 0x80, 0xBF) ? 3 : 0;
  }
  if (in(c, 0xF0, 0xF4)) {
    unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    return in(byte(1), lo, hi) && in(byte(2), 0x80, 0xBF) && in(byte(3), 0x80, 0xBF) ? 4 : 0;
  }
  return 0;
}

// `line` with every byte that starts no UTF-8 sequence written as a \uF7XX escape, into *out;
// false (and *out untouched) when the line is all UTF-8.
bool EscapeRawBytes(std::string_view line, std::string* out) {
  size_t i = 0;
  while (i < line.size()) {
    if (static_cast<unsigned char>(line[i]) < 0x80) {
      ++i;
    } else if (size_t n = Utf8SequenceLength(line, i); n > 0) {
      i += n;
    } else {
      break;
    }
  }
  if (i == line.size()) return false;
  out->assign(line.substr(0, i));
  while (i < line.size()) {
    if (size_t n = Utf8SequenceLength(line, i); n > 0) {
      out->append(line.substr(i, n));
      i += n;
      continue;
    }
    char escape[8];
    std::snprintf(escape, sizeof escape, "\\u%04X",
                  kRawBytePlane + static_cast<unsigned char>(line[i]));
    out->append(escape);
    ++i;
  }
  return true;
}

// The reverse of EscapeRawBytes in a decoded value: U+F780..U+F7FF back to the raw byte.
void UnescapeRawBytes(std::string* s) {
  size_t w = 0;
  for (size_t r = 0; r < s->size(); ++w) {
    auto c = [&](size_t k) { return static_cast<unsigned char>((*s)[r + k]); };
    if (r + 2 < s->size() && c(0) == 0xEF && (c(1) == 0x9E || c(1) == 0x9F) && c(2) >= 0x80 &&
        c(2) <= 0xBF) {
      unsigned cp = 0xF000 | ((c(1) & 0x3Fu) << 6) | (c(2) & 0x3Fu);
      (*s)[w] = static_cast<char>(cp - kRawBytePlane);
      r += 3;
    } else {
      (*s)[w] = (*s)[r++];
    }
  }
  s->resize(w);
}

bool ParseStatus(std::string_view v, int* out) {
  if (v.empty() || v.size() > 3) return false;
  int s = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return false;
    s = s * 10 + (c - '0');
  }
  *out = s;
  return true;
}

// The members of a line's top-level object, through nlohmann::json's SAX parser: each member's
// value as text (a string decoded, a number or literal as written, an array or object as ""),
// nested values only checked. Texts are kept in the record's scratch as offsets, made views
// once the line is read.
class LineFields final : public nlohmann::json_sax<nlohmann::json> {
 public:
  // Values more deeply nested than this are refused (the line is bad).
  static constexpr int kMaxDepth = 33;

  LineFields(std::string* scratch, bool raw_bytes) : scratch_(scratch), raw_bytes_(raw_bytes) {}

  struct Field {
    size_t offset = 0, size = 0;
    bool set = false;
  };
  Field visitor, visitor_hash, experiments, variant, uri, status;
  std::optional<int64_t> time_ms;  // "time", read as it comes: one that does not parse fails

  bool null() override { return Value("null"); }
  bool boolean(bool v) override { return Value(v ? "true" : "false"); }
  bool number_integer(number_integer_t v) override { return Value(std::to_string(v)); }
  bool number_unsigned(number_unsigned_t v) override { return Value(std::to_string(v)); }
  bool number_float(number_float_t, const string_t& text) override { return Value(text); }
  bool string(string_t& v) override {
    if (raw_bytes_ && depth_ == 1) UnescapeRawBytes(&v);
    return Value(v);
  }
  bool binary(binary_t&) override { return false; }  // not in JSON text
  bool start_object(std::size_t) override { return Open(); }
  bool start_array(std::size_t) override { return Open(); }
  bool end_object() override { return Close(); }
  bool end_array() override { return Close(); }
  bool key(string_t& k) override {
    if (depth_ == 1) key_ = k;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  bool Open() {
    if (depth_ == 0) return ++depth_, true;  // the line's object
    if (!Value("")) return false;
    ++depth_;
    return true;
  }
  bool Close() {
    --depth_;
    return true;
  }
  bool Value(std::string_view text) {
    if (depth_ == 0) return false;  // the line is not an object
    if (depth_ > kMaxDepth) return false;
    if (depth_ > 1) return true;
    if (key_ == "time") {
      time_ms = ParseLogTime(text);
      return time_ms.has_value();
    }
    Field* f = key_ == "visitor_hash"   ? &visitor_hash
               : key_ == "visitor"      ? &visitor
               : key_ == "experiments"  ? &experiments
               : key_ == "variant"      ? &variant
               : key_ == "uri"          ? &uri
               : key_ == "status"       ? &status
                                        : nullptr;
    if (f == nullptr) return true;
    *f = {scratch_->size(), text.size(), true};
    scratch_->append(text);
    return true;
  }

  std::string* scratch_;
  bool raw_bytes_;
  int depth_ = 0;  // open objects and arrays
  std::string key_;  // the top-level member being read
};

}  // namespace

bool ParseAccessLogLine(std::string_view line, AccessLogRecord* out) {
  out->scratch.clear();
  if (out->scratch.capacity() < line.size()) out->scratch.reserve(line.size());
  out->has_time = false;
  out->time_ms = 0;
  out->visitor = {};
  out->experiments = {};
  out->variant = {};
  out->uri = {};
  out->status = 0;

  thread_local std::string escaped;  // the line with raw bytes escaped, when it has any
  bool raw_bytes = EscapeRawBytes(line, &escaped);
  std::string_view text = raw_bytes ? std::string_view(escaped) : line;
  LineFields fields(&out->scratch, raw_bytes);
  if (!nlohmann::json::sax_parse(text.begin(), text.end(), &fields,
                                 nlohmann::json::input_format_t::json, /*strict=*/true))
    return false;
  auto view = [&](const LineFields::Field& f) {
    return f.set ? std::string_view(out->scratch).substr(f.offset, f.size) : std::string_view();
  };
  // Of a member given twice, the last counts.
  if (!fields.time_ms) return false;
  out->has_time = true;
  out->time_ms = *fields.time_ms;
  out->experiments = view(fields.experiments);
  out->variant = view(fields.variant);
  out->uri = view(fields.uri);
  if (fields.status.set && !ParseStatus(view(fields.status), &out->status)) out->status = 0;
  std::string_view visitor = view(fields.visitor), visitor_hash = view(fields.visitor_hash);
  out->visitor = !visitor_hash.empty() && visitor_hash != "-" ? visitor_hash : visitor;
  if (out->visitor == "-") out->visitor = {};
  return true;
}

std::string_view FindExperimentVariant(std::string_view experiments,
                                       std::string_view experiment) {
  while (!experiments.empty()) {
    size_t comma = experiments.find(',');
    std::string_view item = experiments.substr(0, comma);
    experiments = comma == std::string_view::npos ? std::string_view()
                                                  : experiments.substr(comma + 1);
    if (item.size() > experiment.size() && item[experiment.size()] == ':' &&
        item.substr(0, experiment.size()) == experiment) {
      return item.substr(experiment.size() + 1);
    }
  }
  return {};
}

}  // namespace tailor
