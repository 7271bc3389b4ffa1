// The calculator tool: Python's results printed as Python prints them for arithmetic and
// 'text'.count('x'), and no result (never a crash, hang or escape) for anything else.
#include <gtest/gtest.h>

#include <string>

#include "nanochat/calculator.hpp"

using nanochat::calculate;

namespace {

struct Case {
  const char* expression;
  const char* python;  // str(eval(expression)) in CPython 3
};

TEST(Calculator, AgreesWithPython) {
  const Case cases[] = {
      {"1+2", "3"},
      {"7-10", "-3"},
      {"(1+2)*3", "9"},
      {"(2+3)*(4-1)/5", "3.0"},
      {"10/4", "2.5"},
      {"6/3", "2.0"},
      {"-7/2", "-3.5"},
      {"1/3", "0.3333333333333333"},
      {"1/7", "0.14285714285714285"},
      {"2/3*3", "2.0"},
      {"100.0/3", "33.333333333333336"},
      {"0.1+0.2", "0.30000000000000004"},
      {"3.14*2", "6.28"},
      {"2.5*4", "10.0"},
      {".5+5.", "5.5"},
      {"-0.0", "-0.0"},
      {"--5", "5"},
      {"-+-5", "5"},
      {"2*-3", "-6"},
      {" 1 + 2 ", "3"},
      {"00", "0"},
      {"1,000*3", "3000"},
      {"1,234.5+0.5", "1235.0"},
      {"123456789*987654321", "121932631112635269"},
      {"1000000*1000000*1000000*1000000*1000000*1000000", "1000000000000000000000000000000000000"},
      {"10000000000000000.0", "1e+16"},
      {"1234567890123456.0", "1234567890123456.0"},
      {"12345678901234567*1.0", "1.2345678901234568e+16"},
      {"0.0001*1", "0.0001"},
      {"0.00001*1", "1e-05"},
      {"0.00000015*1", "1.5e-07"},
      {"'strawberry'.count('r')", "3"},
      {"\"hello world\".count(\"o\")", "2"},
      {"'strawberry' . count ( 'rr' )", "1"},
      {"'aaaa'.count('aa')", "2"},
      {"'abc'.count('')", "4"},
      {"'日本日本'.count('日')", "2"},
      {"'naïve'.count('')", "6"},
  };
  for (const Case& c : cases) {
    auto result = calculate(c.expression);
    ASSERT_TRUE(result.has_value()) << c.expression;
    EXPECT_EQ(*result, c.python) << c.expression;
  }
}

TEST(Calculator, RefusesWhatIsNotArithmetic) {
  const char* refused[] = {
      "",         "   ",          "abc",         "__import__('os')", "__import__(\"os\").system(\"ls\")",
      "2**10",    "7//2",         "1/0",         "1/0.0",            "5/(2-2)",
      "(1+2",     "1+2)",         "1+",          "*3",               "1 2",
      "1.2.3",    ".",            "0123",        "1e5",              "nan",
      "inf",      "0x10",         "1_000",       "()",               "-",
      "'a'*3",    "'abc'.upper()", "'a'.count('a'", "'a'.count('a') + 1", "'\\x41'.count('A')",
      "open('f')", "1;2",         "[1]",         "x=1",              "'unterminated.count('a')",
  };
  for (const char* expression : refused) {
    EXPECT_EQ(calculate(expression), std::nullopt) << expression;
  }
  EXPECT_EQ(calculate(std::string("1\0+1", 4)), std::nullopt);
}

TEST(Calculator, SurvivesHostileSizes) {
  // Deep nesting is refused without recursing into it.
  EXPECT_EQ(calculate(std::string(10000, '(') + "1" + std::string(10000, ')')), std::nullopt);
  EXPECT_EQ(calculate(std::string(400, '(') + "1" + std::string(400, ')')), std::nullopt);
  EXPECT_EQ(calculate(std::string(400, '-') + "1"), std::nullopt);
  EXPECT_EQ(calculate(std::string(50, '(') + "1" + std::string(50, ')')), "1");
  // Numbers past 128 bits (Python has them; we decline) and floats that overflow.
  EXPECT_EQ(calculate("1" + std::string(400, '0')), std::nullopt);
  EXPECT_EQ(calculate("1" + std::string(400, '0') + ".0"), std::nullopt);
  EXPECT_EQ(calculate(std::string(39, '9')), std::nullopt);
  EXPECT_EQ(calculate("99999999999999999999*99999999999999999999"), std::nullopt);
  EXPECT_EQ(calculate("1" + std::string(300, '0') + ".0*1" + std::string(300, '0') + ".0"), std::nullopt);
  // Long input is refused outright, however simple.
  std::string sum = "1";
  while (sum.size() < 5000) sum += "+1";
  EXPECT_EQ(calculate(sum), std::nullopt);
  EXPECT_EQ(calculate("'" + std::string(100000, 'a') + "'.count('a')"), std::nullopt);
  EXPECT_EQ(calculate("'" + std::string(900, 'a') + "'.count('a')"), "900");
}

}  // namespace
