#include "rules/lexer.h"

#include <gtest/gtest.h>

namespace tailor {
namespace {

std::vector<Tok> Kinds(const LexResult& r) {
  std::vector<Tok> k;
  for (auto& t : r.tokens) k.push_back(t.kind);
  return k;
}

TEST(LexerTest, TokensAndPositions) {
  Diagnostics d;
  LexResult r = Lex("segment a = x == \"v\" # note\n  page", "f.rules", d);
  EXPECT_FALSE(d.has_errors());
  EXPECT_EQ(Kinds(r), (std::vector<Tok>{Tok::kIdent, Tok::kIdent, Tok::kAssign, Tok::kIdent,
                                        Tok::kEq, Tok::kString, Tok::kIdent, Tok::kEof}));
  EXPECT_EQ(r.tokens[5].value, "v");
  EXPECT_EQ(r.tokens[6].line, 2);
  EXPECT_EQ(r.tokens[6].col, 3);
  EXPECT_TRUE(r.tokens[6].first_on_line);
  EXPECT_FALSE(r.tokens[1].first_on_line);
  ASSERT_EQ(r.comments.size(), 1u);
  EXPECT_EQ(r.comments[0].text, "# note");
  EXPECT_EQ(r.comments[0].line, 1);
}

TEST(LexerTest, DottedNamesNumbersAndOperators) {
  Diagnostics d;
  LexResult r = Lex("device.type intent.points 12.5 5% ==~ !=~ <= >= < > != +10 -3", "f", d);
  EXPECT_FALSE(d.has_errors());
  EXPECT_EQ(r.tokens[0].text, "device.type");
  EXPECT_EQ(r.tokens[1].text, "intent.points");
  EXPECT_DOUBLE_EQ(r.tokens[2].number, 12.5);
  EXPECT_EQ(Kinds(r), (std::vector<Tok>{Tok::kIdent, Tok::kIdent, Tok::kNumber, Tok::kNumber,
                                        Tok::kPercent, Tok::kEqCi, Tok::kNeCi, Tok::kLe, Tok::kGe,
                                        Tok::kLt, Tok::kGt, Tok::kNe, Tok::kPlus, Tok::kNumber,
                                        Tok::kMinus, Tok::kNumber, Tok::kEof}));
}

TEST(LexerTest, StringEscapesKeepRegexBackslashes) {
  Diagnostics d;
  LexResult r = Lex(R"("a\"b" "\d+\.x" "\\")", "f", d);
  EXPECT_FALSE(d.has_errors());
  EXPECT_EQ(r.tokens[0].value, "a\"b");
  EXPECT_EQ(r.tokens[1].value, "\\d+\\.x");
  EXPECT_EQ(r.tokens[2].value, "\\");
}

TEST(LexerTest, UnterminatedStringIsAnErrorWithPosition) {
  Diagnostics d;
  Lex("segment a = x == \"oops\nsegment b = y", "f.rules", d);
  ASSERT_EQ(d.error_count(), 1u);
  EXPECT_EQ(d.items()[0].line, 1);
  EXPECT_EQ(d.items()[0].column, 18);
  EXPECT_NE(d.items()[0].message.find("unterminated string"), std::string::npos);
}

TEST(LexerTest, NumbersBeyondADoubleAreAnError) {
  Diagnostics d;
  LexResult r = Lex("x > " + std::string(400, '9'), "t.rules", d);
  ASSERT_TRUE(d.has_errors());
  EXPECT_NE(d.items()[0].message.find("number too large"), std::string::npos);
  EXPECT_EQ(d.items()[0].column, 5);
  Diagnostics ok;
  Lex("x > " + std::string(300, '9'), "t.rules", ok);
  EXPECT_FALSE(ok.has_errors());
}

TEST(LexerTest, StrayCharactersAreReportedAndSkipped) {
  Diagnostics d;
  LexResult r = Lex("a $ b 'c' é", "f", d);
  EXPECT_EQ(d.error_count(), 4u);  // $, two quotes, é
  EXPECT_EQ(r.tokens.back().kind, Tok::kEof);
}

TEST(LexerTest, OverlongNameAndStringAreLimited) {
  Diagnostics d;
  RuleLimits limits;
  limits.max_name_bytes = 4;
  limits.max_string_bytes = 3;
  LexResult r = Lex("abcdef \"abcdef\"", "f", d, limits);
  EXPECT_EQ(d.error_count(), 2u);
  EXPECT_EQ(r.tokens[1].value.size(), 3u);
}

}  // namespace
}  // namespace tailor
