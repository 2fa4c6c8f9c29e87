#include "experiments/access_log.h"

#include <unistd.h>
#include <zlib.h>

#include <cstring>

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

class JsonLine {
 public:
  JsonLine(std::string_view s, std::string* scratch) : s_(s), scratch_(scratch) {}

  void SkipSpace() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r'))
      ++i_;
  }
  bool Consume(char c) {
    SkipSpace();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool AtEnd() {
    SkipSpace();
    return i_ == s_.size();
  }
  char Peek() {
    SkipSpace();
    return i_ < s_.size() ? s_[i_] : '\0';
  }

  // A string (the opening quote not yet consumed). Escaped strings are decoded into scratch,
  // whose capacity was reserved for the whole line (so earlier views stay valid).
  bool String(std::string_view* out) {
    if (!Consume('"')) return false;
    size_t start = i_;
    while (i_ < s_.size() && s_[i_] != '"' && s_[i_] != '\\') ++i_;
    if (i_ >= s_.size()) return false;
    if (s_[i_] == '"') {
      *out = s_.substr(start, i_ - start);
      ++i_;
      return true;
    }
    size_t at = scratch_->size();
    scratch_->append(s_.data() + start, i_ - start);
    while (i_ < s_.size()) {
      char c = s_[i_++];
      if (c == '"') {
        *out = std::string_view(scratch_->data() + at, scratch_->size() - at);
        return true;
      }
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (c != '\\') {
        scratch_->push_back(c);
        continue;
      }
      if (i_ >= s_.size()) return false;
      char e = s_[i_++];
      switch (e) {
        case '"': scratch_->push_back('"'); break;
        case '\\': scratch_->push_back('\\'); break;
        case '/': scratch_->push_back('/'); break;
        case 'b': scratch_->push_back('\b'); break;
        case 'f': scratch_->push_back('\f'); break;
        case 'n': scratch_->push_back('\n'); break;
        case 'r': scratch_->push_back('\r'); break;
        case 't': scratch_->push_back('\t'); break;
        case 'u': {
          unsigned cp = 0;
          if (!Hex4(&cp)) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            unsigned lo = 0;
            if (i_ + 1 < s_.size() && s_[i_] == '\\' && s_[i_ + 1] == 'u') {
              i_ += 2;
              if (!Hex4(&lo) || lo < 0xDC00 || lo > 0xDFFF) return false;
              cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else {
              cp = 0xFFFD;
            }
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            cp = 0xFFFD;
          }
          Utf8(cp);
          break;
        }
        default: return false;
      }
    }
    return false;
  }

  // A number or a literal as raw text.
  bool Scalar(std::string_view* out) {
    SkipSpace();
    size_t start = i_;
    while (i_ < s_.size() && s_[i_] != ',' && s_[i_] != '}' && s_[i_] != ']' && s_[i_] != ' ')
      ++i_;
    if (i_ == start) return false;
    *out = s_.substr(start, i_ - start);
    return true;
  }

  // Skips any value (nested objects/arrays included), to a depth limit.
  bool SkipValue(int depth = 0) {
    if (depth > 32) return false;
    char c = Peek();
    std::string_view ignored;
    if (c == '"') return SkipString();
    if (c == '{' || c == '[') {
      char close = c == '{' ? '}' : ']';
      ++i_;
      if (Consume(close)) return true;
      for (;;) {
        if (c == '{') {
          if (!SkipString() || !Consume(':')) return false;
        }
        if (!SkipValue(depth + 1)) return false;
        if (Consume(',')) continue;
        return Consume(close);
      }
    }
    return Scalar(&ignored);
  }

 private:
  bool SkipString() {
    if (!Consume('"')) return false;
    while (i_ < s_.size()) {
      char c = s_[i_++];
      if (c == '\\') {
        ++i_;
      } else if (c == '"') {
        return true;
      }
    }
    return false;
  }
  bool Hex4(unsigned* out) {
    if (i_ + 4 > s_.size()) return false;
    unsigned v = 0;
    for (int k = 0; k < 4; ++k) {
      char h = s_[i_++];
      v <<= 4;
      if (h >= '0' && h <= '9') v |= static_cast<unsigned>(h - '0');
      else if (h >= 'a' && h <= 'f') v |= static_cast<unsigned>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F') v |= static_cast<unsigned>(h - 'A' + 10);
      else return false;
    }
    *out = v;
    return true;
  }
  void Utf8(unsigned cp) {
    if (cp < 0x80) {
      scratch_->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      scratch_->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      scratch_->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      scratch_->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      scratch_->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      scratch_->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      scratch_->push_back(static_cast<char>(0xF0 | (cp >> 18)));
      scratch_->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      scratch_->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      scratch_->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  std::string_view s_;
  size_t i_ = 0;
  std::string* scratch_;
};

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

}  // namespace

bool ParseAccessLogLine(std::string_view line, AccessLogRecord* out) {
  out->scratch.clear();
  // Decoded text is never longer than its escaped form: one reservation keeps views valid.
  if (out->scratch.capacity() < line.size()) out->scratch.reserve(line.size());
  out->has_time = false;
  out->time_ms = 0;
  out->visitor = {};
  out->experiments = {};
  out->variant = {};
  out->uri = {};
  out->status = 0;
  std::string_view visitor, visitor_hash;

  JsonLine j(line, &out->scratch);
  if (!j.Consume('{')) return false;
  if (!j.Consume('}')) {
    for (;;) {
      std::string_view key;
      if (!j.String(&key) || !j.Consume(':')) return false;
      char c = j.Peek();
      std::string_view value;
      bool is_string = c == '"';
      if (c == '{' || c == '[') {
        if (!j.SkipValue()) return false;
      } else if (is_string) {
        if (!j.String(&value)) return false;
      } else if (!j.Scalar(&value)) {
        return false;
      }
      if (key == "time") {
        auto t = ParseLogTime(value);
        if (!t) return false;
        out->has_time = true;
        out->time_ms = *t;
      } else if (key == "visitor_hash") {
        visitor_hash = value;
      } else if (key == "visitor") {
        visitor = value;
      } else if (key == "experiments") {
        out->experiments = value;
      } else if (key == "variant") {
        out->variant = value;
      } else if (key == "uri") {
        out->uri = value;
      } else if (key == "status") {
        if (!ParseStatus(value, &out->status)) out->status = 0;
      }
      if (j.Consume(',')) continue;
      if (j.Consume('}')) break;
      return false;
    }
  }
  if (!j.AtEnd() || !out->has_time) return false;
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
