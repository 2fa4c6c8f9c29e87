#include "tables/table.h"

#include <gtest/gtest.h>

namespace tailor {
namespace {

std::shared_ptr<const Table> Parse(std::string_view csv, Diagnostics& d, std::string_view key = "id") {
  return Table::ParseCsv(csv, "t.csv", key, d);
}

std::string Errors(const Diagnostics& d) {
  std::string s;
  for (const auto& x : d.items()) s += FormatDiagnosticLine(x) + "\n";
  return s;
}

TEST(Table, DeclaredTypesAndLookups) {
  Diagnostics d;
  auto t = Parse(
      "id,tier:string,total_spend:number,opted_in:bool\n"
      "c1,gold,1250.5,true\n"
      "c2,silver,,no\n"
      "\"c,3\",\"say \"\"hi\"\"\",7,\n",
      d);
  ASSERT_TRUE(t) << Errors(d);
  EXPECT_EQ(t->row_count(), 3u);
  int tier = t->ColumnIndex("tier"), spend = t->ColumnIndex("total_spend"),
      opt = t->ColumnIndex("opted_in");
  EXPECT_EQ(t->ColumnType(spend), ValueType::kNumber);
  EXPECT_EQ(t->ColumnType(opt), ValueType::kBool);
  EXPECT_EQ(t->ColumnIndex("nope"), -1);
  EXPECT_EQ(t->Lookup(Value::String("c1"), tier).str, "gold");
  EXPECT_EQ(t->Lookup(Value::String("c1"), spend).number, 1250.5);
  EXPECT_TRUE(t->Lookup(Value::String("c1"), opt).boolean);
  EXPECT_TRUE(t->Lookup(Value::String("c2"), spend).missing());  // empty cell
  EXPECT_EQ(t->Lookup(Value::String("c2"), opt).type, ValueType::kBool);
  EXPECT_FALSE(t->Lookup(Value::String("c2"), opt).boolean);
  EXPECT_EQ(t->Lookup(Value::String("c,3"), tier).str, "say \"hi\"");
  EXPECT_TRUE(t->Lookup(Value::String("c,3"), opt).missing());
  EXPECT_TRUE(t->Lookup(Value::String("c4"), tier).missing());
  EXPECT_TRUE(t->Lookup(Value::Missing(), tier).missing());
  EXPECT_EQ(t->FindRow("c2"), 1);
}

TEST(Table, InfersTypes) {
  Diagnostics d;
  auto t = Parse("id,n,b,s,e\r\n1,3.5,TRUE,x,\r\n2,-2,false,7,\r\n3,,true,,\r\n", d);
  ASSERT_TRUE(t) << Errors(d);
  EXPECT_EQ(t->ColumnType(t->ColumnIndex("id")), ValueType::kNumber);
  EXPECT_EQ(t->ColumnType(t->ColumnIndex("n")), ValueType::kNumber);
  EXPECT_EQ(t->ColumnType(t->ColumnIndex("b")), ValueType::kBool);
  EXPECT_EQ(t->ColumnType(t->ColumnIndex("s")), ValueType::kString);  // "x" and "7"
  EXPECT_EQ(t->ColumnType(t->ColumnIndex("e")), ValueType::kString);  // all empty
  EXPECT_EQ(t->Lookup(Value::String("s"), 0).type, ValueType::kMissing);
  // Number keys match by value: 2, "2", "2.0".
  EXPECT_EQ(t->FindRow(Value::Number(2)), 1);
  EXPECT_EQ(t->FindRow("2.0"), 1);
  EXPECT_EQ(t->FindRow("+2"), 1);
  EXPECT_EQ(t->Lookup(Value::Number(1), t->ColumnIndex("s")).str, "x");
  EXPECT_EQ(t->Lookup(Value::Number(2), t->ColumnIndex("s")).str, "7");
}

TEST(Table, QuotedFieldsSpanLinesAndLineNumbersFollow) {
  Diagnostics d;
  auto t = Parse("id,note\na,\"two\nlines\"\nb,x,extra\n", d);
  EXPECT_FALSE(t);
  ASSERT_EQ(d.error_count(), 1u) << Errors(d);
  EXPECT_EQ(FormatDiagnosticLine(d.items()[0]),
            "t.csv:4: error: this row has 3 fields, the header has 2");
  Diagnostics ok;
  auto t2 = Parse("\xEF\xBB\xBFid,note\na,\"two\nlines\"\n", ok);
  ASSERT_TRUE(t2) << Errors(ok);
  EXPECT_EQ(t2->Lookup(Value::String("a"), 1).str, "two\nlines");
}

TEST(Table, BadRowsAreDiagnosedWithLines) {
  Diagnostics d;
  auto t = Parse(
      "id,spend:number,vip:bool\n"
      "a,12,true\n"
      "b,twelve,true\n"
      "a,1,false\n"
      ",3,maybe\n",
      d);
  EXPECT_FALSE(t);
  std::string e = Errors(d);
  EXPECT_NE(e.find("t.csv:3: error: column 'spend' is a number; 'twelve' is not a number"), std::string::npos) << e;
  EXPECT_NE(e.find("t.csv:5: error: column 'vip' is a bool"), std::string::npos) << e;

  Diagnostics d2;
  EXPECT_FALSE(Parse("id,x\na,1\nb,2\na,3\n,4\n", d2));
  e = Errors(d2);
  EXPECT_NE(e.find("t.csv:4: error: duplicate key 'a' (first on line 2)"), std::string::npos) << e;
  EXPECT_NE(e.find("t.csv:5: error: empty key"), std::string::npos) << e;
}

TEST(Table, HeaderErrors) {
  Diagnostics d;
  EXPECT_FALSE(Parse("", d));
  EXPECT_FALSE(Parse("id,x:date,2bad,x\n", d));
  EXPECT_FALSE(Parse("name,x\nA,1\n", d));  // no "id" column
  std::string e = Errors(d);
  EXPECT_NE(e.find("empty table"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown type 'date'"), std::string::npos) << e;
  EXPECT_NE(e.find("'2bad' is not a name"), std::string::npos) << e;
  EXPECT_NE(e.find("duplicate column 'x'"), std::string::npos) << e;
  EXPECT_NE(e.find("the key column 'id' is not in the header"), std::string::npos) << e;
  Diagnostics q;
  EXPECT_FALSE(Parse("id,x\na,\"open\n", q));
  EXPECT_NE(Errors(q).find("unterminated quoted field"), std::string::npos);
}

TEST(Table, ErrorCountIsCapped) {
  std::string csv = "id,n:number\n";
  for (int i = 0; i < 1000; ++i) csv += "k" + std::to_string(i) + ",x\n";
  Diagnostics d;
  EXPECT_FALSE(Parse(csv, d));
  EXPECT_LE(d.error_count(), 21u);
  EXPECT_NE(Errors(d).find("too many errors"), std::string::npos);
}

TEST(Table, NearestRow) {
  Diagnostics d;
  auto t = Parse(
      "id,name,lat,lon\n"
      "paris,Paris Opéra,48.8719,2.3316\n"
      "berlin,Berlin Mitte,52.52,13.405\n"
      "london,London Soho,51.5136,-0.1365\n"
      "nowhere,No coords,,\n",
      d);
  ASSERT_TRUE(t) << Errors(d);
  auto n = t->NearestTo(48.8566, 2.3522);  // central Paris
  ASSERT_EQ(n.row, 0);
  EXPECT_NEAR(n.distance_km, 2.3, 0.3);
  EXPECT_EQ(t->Cell(t->NearestTo(51.5, 0.0).row, 1).str, "London Soho");
  Diagnostics d2;
  auto no = Parse("id,name\na,b\n", d2);
  ASSERT_TRUE(no);
  EXPECT_EQ(no->NearestTo(1, 2).row, -1);
}

// The memory limit is on the built table (which can be several times the file), checked
// while it is built: a table that exceeds it is refused with an error naming the file.
TEST(Table, MemoryLimit) {
  std::string csv = "id,tier,spend:number,opted_in:bool\n";
  for (int i = 0; i < 1000; ++i)
    csv += "c" + std::to_string(i) + ",gold," + std::to_string(i) + ",true\n";
  Diagnostics d;
  auto full = Parse(csv, d);
  ASSERT_TRUE(full) << Errors(d);
  const size_t need = full->memory_bytes();
  // Record (8 + 4 x 8) + key and tier bytes, padded; row offset; two slots (load <= 0.5).
  EXPECT_GE(need, 1000u * (40 + 8 + 32));
  EXPECT_LE(need, 1000u * (40 + 16 + 8 + 64));

  TableLimits limits;
  limits.max_memory_bytes = need;
  Diagnostics ok;
  EXPECT_TRUE(Table::ParseCsv(csv, "t.csv", "id", ok, limits)) << Errors(ok);

  limits.max_memory_bytes = need - 1;
  Diagnostics over;
  EXPECT_FALSE(Table::ParseCsv(csv, "t.csv", "id", over, limits));
  ASSERT_EQ(over.error_count(), 1u) << Errors(over);
  EXPECT_NE(Errors(over).find("t.csv:"), std::string::npos) << Errors(over);
  EXPECT_NE(Errors(over).find("error: " + TableMemoryLimitMessage(need - 1)), std::string::npos)
      << Errors(over);

  // A limit far below the table stops reading early (the error is on an early line), before
  // the raw cells of the whole file are kept.
  limits.max_memory_bytes = 4000;
  Diagnostics early;
  EXPECT_FALSE(Table::ParseCsv(csv, "t.csv", "id", early, limits));
  ASSERT_EQ(early.error_count(), 1u) << Errors(early);
  EXPECT_LT(early.items()[0].line, 100) << Errors(early);
  EXPECT_NE(Errors(early).find("4000 bytes of memory"), std::string::npos) << Errors(early);
  EXPECT_NE(TableMemoryLimitMessage(kMaxTableMemoryBytes).find("1024 MiB"), std::string::npos);
}

TEST(Table, ManyRowsAllFound) {
  std::string csv = "id,v:number\n";
  for (int i = 0; i < 50000; ++i) csv += "user-" + std::to_string(i * 7919) + "," + std::to_string(i) + "\n";
  Diagnostics d;
  auto t = Parse(csv, d);
  ASSERT_TRUE(t) << Errors(d);
  for (int i = 0; i < 50000; ++i) {
    std::string k = "user-" + std::to_string(i * 7919);
    ASSERT_EQ(t->Lookup(Value::String(k), 1).number, i) << k;
  }
  EXPECT_EQ(t->FindRow("user-1"), -1);
  EXPECT_EQ(t->FindRow(""), -1);
}

}  // namespace
}  // namespace tailor
