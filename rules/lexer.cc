#include "rules/lexer.h"

#include <cmath>
#include <cstdlib>

#include "core/text.h"

namespace tailor {

const char* TokName(Tok t) {
  switch (t) {
    case Tok::kEof: return "end of file";
    case Tok::kIdent: return "a name";
    case Tok::kString: return "a string";
    case Tok::kNumber: return "a number";
    case Tok::kLParen: return "'('";
    case Tok::kRParen: return "')'";
    case Tok::kLBrace: return "'{'";
    case Tok::kRBrace: return "'}'";
    case Tok::kLBracket: return "'['";
    case Tok::kRBracket: return "']'";
    case Tok::kComma: return "','";
    case Tok::kColon: return "':'";
    case Tok::kAssign: return "'='";
    case Tok::kEq: return "'=='";
    case Tok::kNe: return "'!='";
    case Tok::kEqCi: return "'==~'";
    case Tok::kNeCi: return "'!=~'";
    case Tok::kLt: return "'<'";
    case Tok::kLe: return "'<='";
    case Tok::kGt: return "'>'";
    case Tok::kGe: return "'>='";
    case Tok::kPlus: return "'+'";
    case Tok::kMinus: return "'-'";
    case Tok::kPercent: return "'%'";
  }
  return "token";
}

namespace {

bool IsIdentStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool IsIdentChar(char c) { return IsIdentStart(c) || (c >= '0' && c <= '9'); }

class Lexer {
 public:
  Lexer(std::string_view src, const std::string& file, Diagnostics& diags,
        const RuleLimits& limits)
      : src_(src), file_(file), diags_(diags), limits_(limits) {}

  LexResult Run() {
    LexResult out;
    // Cap how many errors one file produces: a binary file would otherwise give one per byte.
    while (true) {
      SkipSpaceAndComments(out.comments);
      Token t;
      t.line = line_;
      t.col = Col();
      t.first_on_line = line_ != last_token_line_;
      if (pos_ >= src_.size()) {
        t.kind = Tok::kEof;
        out.tokens.push_back(std::move(t));
        break;
      }
      size_t start = pos_;
      if (!LexOne(t)) continue;  // error already reported, character skipped
      t.text = src_.substr(start, pos_ - start);
      last_token_line_ = t.line;
      out.tokens.push_back(std::move(t));
    }
    return out;
  }

 private:
  int Col() const { return static_cast<int>(pos_ - line_start_) + 1; }

  void Error(int line, int col, std::string msg) {
    if (errors_++ >= 50) return;
    diags_.Error(file_, line, col, std::move(msg), std::string(SourceLine(src_, line)));
  }

  void Newline() {
    ++line_;
    line_start_ = pos_;
  }

  void SkipSpaceAndComments(std::vector<Comment>& comments) {
    while (pos_ < src_.size()) {
      char c = src_[pos_];
      if (c == '\n') {
        ++pos_;
        Newline();
      } else if (c == ' ' || c == '\t' || c == '\r') {
        ++pos_;
      } else if (c == '#') {
        size_t end = src_.find('\n', pos_);
        if (end == std::string_view::npos) end = src_.size();
        std::string_view text = src_.substr(pos_, end - pos_);
        while (!text.empty() && (text.back() == '\r' || text.back() == ' ' || text.back() == '\t'))
          text.remove_suffix(1);
        comments.push_back({line_, Col(), std::string(text)});
        pos_ = end;
      } else {
        break;
      }
    }
  }

  bool LexOne(Token& t) {
    char c = src_[pos_];
    if (IsIdentStart(c)) {
      size_t start = pos_;
      while (pos_ < src_.size()) {
        if (IsIdentChar(src_[pos_])) {
          ++pos_;
        } else if (src_[pos_] == '.' && pos_ + 1 < src_.size() && IsIdentStart(src_[pos_ + 1])) {
          ++pos_;  // dotted names: device.type, experiment.hero, intent.points
        } else {
          break;
        }
      }
      if (pos_ - start > limits_.max_name_bytes)
        Error(t.line, t.col, "name longer than " + std::to_string(limits_.max_name_bytes) +
                                 " characters");
      t.kind = Tok::kIdent;
      return true;
    }
    if (IsAsciiDigit(c) || (c == '.' && pos_ + 1 < src_.size() && IsAsciiDigit(src_[pos_ + 1]))) {
      size_t start = pos_;
      while (pos_ < src_.size() && IsAsciiDigit(src_[pos_])) ++pos_;
      if (pos_ < src_.size() && src_[pos_] == '.') {
        ++pos_;
        while (pos_ < src_.size() && IsAsciiDigit(src_[pos_])) ++pos_;
      }
      std::string digits(src_.substr(start, pos_ - start));
      t.kind = Tok::kNumber;
      t.number = std::strtod(digits.c_str(), nullptr);
      if (!std::isfinite(t.number)) {
        Error(t.line, t.col, "number too large");
        t.number = 0;
      }
      if (pos_ < src_.size() && IsIdentStart(src_[pos_])) {
        Error(t.line, t.col, "a number must not run into a name (missing space?)");
        while (pos_ < src_.size() && IsIdentChar(src_[pos_])) ++pos_;
      }
      return true;
    }
    if (c == '"') return LexString(t);
    ++pos_;
    auto next_is = [&](char n) {
      if (pos_ < src_.size() && src_[pos_] == n) {
        ++pos_;
        return true;
      }
      return false;
    };
    switch (c) {
      case '(': t.kind = Tok::kLParen; return true;
      case ')': t.kind = Tok::kRParen; return true;
      case '{': t.kind = Tok::kLBrace; return true;
      case '}': t.kind = Tok::kRBrace; return true;
      case '[': t.kind = Tok::kLBracket; return true;
      case ']': t.kind = Tok::kRBracket; return true;
      case ',': t.kind = Tok::kComma; return true;
      case ':': t.kind = Tok::kColon; return true;
      case '+': t.kind = Tok::kPlus; return true;
      case '-': t.kind = Tok::kMinus; return true;
      case '%': t.kind = Tok::kPercent; return true;
      case '=':
        if (next_is('=')) {
          t.kind = next_is('~') ? Tok::kEqCi : Tok::kEq;
        } else {
          t.kind = Tok::kAssign;
        }
        return true;
      case '!':
        if (next_is('=')) {
          t.kind = next_is('~') ? Tok::kNeCi : Tok::kNe;
          return true;
        }
        Error(t.line, t.col, "unexpected '!' (write `not` or `!=`)");
        return false;
      case '<': t.kind = next_is('=') ? Tok::kLe : Tok::kLt; return true;
      case '>': t.kind = next_is('=') ? Tok::kGe : Tok::kGt; return true;
      default: break;
    }
    if (static_cast<unsigned char>(c) >= 0x80) {
      // Skip the rest of a UTF-8 sequence so one character gives one error.
      while (pos_ < src_.size() && (static_cast<unsigned char>(src_[pos_]) & 0xC0) == 0x80) ++pos_;
      Error(t.line, t.col, "unexpected character (non-ASCII text belongs in a \"string\")");
    } else if (c == '\'') {
      Error(t.line, t.col, "strings use double quotes: \"...\"");
    } else {
      std::string shown = IsAsciiPrintable(c) ? std::string(1, c) : "\\x" + std::to_string(static_cast<unsigned char>(c));
      Error(t.line, t.col, "unexpected character '" + shown + "'");
    }
    return false;
  }

  bool LexString(Token& t) {
    ++pos_;  // opening quote
    std::string value;
    while (true) {
      if (pos_ >= src_.size() || src_[pos_] == '\n') {
        Error(t.line, t.col, "unterminated string (missing closing \")");
        break;
      }
      char c = src_[pos_++];
      if (c == '"') break;
      if (c == '\\' && pos_ < src_.size() && src_[pos_] != '\n') {
        char e = src_[pos_++];
        switch (e) {
          case 'n': value += '\n'; break;
          case 't': value += '\t'; break;
          case '\\': value += '\\'; break;
          case '"': value += '"'; break;
          default:
            // Unknown escapes stay as written: regexes ("\d", "\.") read naturally.
            value += '\\';
            value += e;
        }
        continue;
      }
      value += c;
    }
    if (value.size() > limits_.max_string_bytes) {
      Error(t.line, t.col, "string longer than " + std::to_string(limits_.max_string_bytes) +
                               " bytes");
      value.resize(limits_.max_string_bytes);
    }
    t.kind = Tok::kString;
    t.value = std::move(value);
    return true;
  }

  std::string_view src_;
  const std::string& file_;
  Diagnostics& diags_;
  const RuleLimits& limits_;
  size_t pos_ = 0;
  int line_ = 1;
  size_t line_start_ = 0;
  int last_token_line_ = 0;
  int errors_ = 0;
};

}  // namespace

LexResult Lex(std::string_view source, const std::string& file, Diagnostics& diags,
              const RuleLimits& limits) {
  return Lexer(source, file, diags, limits).Run();
}

}  // namespace tailor
