// Lexer: rules text -> tokens. Comments are kept aside (the formatter puts them back).
// Errors (unterminated string, stray character) are Diagnostics; lexing always continues so
// the checker can report every mistake of a file in one run.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/diagnostic.h"
#include "rules/limits.h"

namespace tailor {

enum class Tok : unsigned char {
  kEof,
  kIdent,    // segment, device.type, in_ci (keywords are identifiers; the parser decides)
  kString,   // "..." (value holds the decoded text)
  kNumber,   // 12, 3.5
  kLParen, kRParen, kLBrace, kRBrace, kLBracket, kRBracket,
  kComma, kColon, kAssign,          // , : =
  kEq, kNe, kEqCi, kNeCi,           // == != ==~ !=~
  kLt, kLe, kGt, kGe,               // < <= > >=
  kPlus, kMinus, kPercent,          // + - %
};

const char* TokName(Tok t);

struct Token {
  Tok kind = Tok::kEof;
  int line = 1;
  int col = 1;
  bool first_on_line = false;  // for error recovery: statements start lines
  std::string_view text;       // raw text in the source
  std::string value;           // decoded string literal
  double number = 0;
};

struct Comment {
  int line;
  int col;
  std::string text;  // including the leading '#'
};

struct LexResult {
  std::vector<Token> tokens;  // always ends with kEof
  std::vector<Comment> comments;
};

// `file` names the source in diagnostics.
LexResult Lex(std::string_view source, const std::string& file, Diagnostics& diags,
              const RuleLimits& limits = {});

}  // namespace tailor
