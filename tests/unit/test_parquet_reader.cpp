// Tests for ParquetReader on apache/parquet-testing (../shared/data/parquet_testing): exact
// strings from the good files (expectations computed once with pyarrow and hard-coded), every
// bad file refused with nanochat::Error, and truncated or byte-flipped copies that must fail
// cleanly instead of crashing.
#include "nanochat/parquet_reader.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "nanochat/error.hpp"

namespace fs = std::filesystem;
using nanochat::ParquetReader;

namespace {

fs::path shared_dir() { return fs::path(NANOCHAT_TEST_SHARED_DIR); }
fs::path testing_dir() { return shared_dir() / "data" / "parquet_testing"; }
std::string testing_file(const std::string& rel) { return (testing_dir() / rel).string(); }

#define REQUIRE_PARQUET_TESTING()                                                       \
  if (!fs::is_directory(testing_dir())) {                                               \
    GTEST_SKIP() << "no parquet-testing data at " << testing_dir() << " (../shared absent)"; \
  }

// FNV-1a over (tag, length, bytes) per row, the same function the pyarrow oracle used.
std::uint64_t fnv_rows(const std::vector<std::optional<std::string>>& rows) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  auto update = [&](const void* p, std::size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 0x100000001b3ull;
  };
  for (const auto& row : rows) {
    const unsigned char tag = row ? 1 : 0;
    update(&tag, 1);
    if (!row) continue;
    const std::uint64_t len = row->size();
    unsigned char le[8];
    for (int i = 0; i < 8; ++i) le[i] = static_cast<unsigned char>(len >> (8 * i));
    update(le, 8);
    update(row->data(), row->size());
  }
  return h;
}

std::vector<std::optional<std::string>> read_all_nullable(const ParquetReader& r) {
  std::vector<std::optional<std::string>> rows;
  for (std::size_t g = 0; g < r.num_row_groups(); ++g) {
    auto part = r.read_row_group_nullable(g);
    rows.insert(rows.end(), std::make_move_iterator(part.begin()), std::make_move_iterator(part.end()));
  }
  return rows;
}

// Opens and reads every row group; returns the error message, or nullopt if it all read.
std::optional<std::string> read_error(const std::string& path, const std::string& column) {
  try {
    ParquetReader r(path, column);
    for (std::size_t g = 0; g < r.num_row_groups(); ++g) r.read_row_group_nullable(g);
    return std::nullopt;
  } catch (const nanochat::Error& e) {
    return std::string(e.what());
  }
}

std::vector<std::string> parquet_files_under(const fs::path& dir) {
  std::vector<std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && name.find(".parquet") != std::string::npos) files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// "text" (what the data stage reads) and every column the file lists; "text" alone when the
// footer is too broken to list them, so that attempt must fail the same way.
std::vector<std::string> columns_to_try(const std::string& path) {
  std::vector<std::string> columns = {"text"};
  try {
    const auto names = ParquetReader::list_columns(path);
    columns.insert(columns.end(), names.begin(), names.end());
  } catch (const nanochat::Error&) {
  }
  return columns;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Temporary copies live under the test's own scratch folder, removed at the end.
class ScratchDir {
 public:
  ScratchDir() : dir_(fs::temp_directory_path() / ("nanochat_pq_" + std::to_string(::getpid()))) {
    fs::create_directories(dir_);
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string write(const std::string& name, const std::string& bytes) const {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return path;
  }

 private:
  fs::path dir_;
};

// ---- Good files: exact contents ----------------------------------------------------------

struct Expected {
  const char* file;
  const char* column;
  std::size_t row_groups;
  std::size_t rows;
  std::size_t nulls;
  std::uint64_t hash;  // fnv_rows over all rows, from pyarrow
  const char* first;   // first non-null value (first 40 bytes); nullptr: binary, not compared
  const char* last;    // last non-null value (first 40 bytes)
};

void PrintTo(const Expected& e, std::ostream* os) { *os << e.file << ":" << e.column; }

// Every top-level string column in parquet-testing that uses PLAIN or dictionary encoding and
// none/snappy/gzip/zstd. Covers data pages v1 and v2, optional columns with nulls, many row
// groups, tiny pages, page checksums, and the PARQUET-816 chunk-size quirk (nation.dict-malformed).
const Expected kGoodColumns[] = {
    {"data/alltypes_dictionary.parquet", "date_string_col", 1, 2, 0, 0xeab3c59fbe04653dull, "01/01/09", "01/01/09"},
    {"data/alltypes_dictionary.parquet", "string_col", 1, 2, 0, 0x7c9b77f8ea192466ull, "0", "1"},
    {"data/alltypes_plain.parquet", "date_string_col", 1, 8, 0, 0xf061a3bdea565f2dull, "03/01/09", "01/01/09"},
    {"data/alltypes_plain.parquet", "string_col", 1, 8, 0, 0x055dbcf969d41bc5ull, "0", "1"},
    {"data/alltypes_plain.snappy.parquet", "date_string_col", 1, 2, 0, 0xf47e3aab1c57d61bull, "04/01/09", "04/01/09"},
    {"data/alltypes_plain.snappy.parquet", "string_col", 1, 2, 0, 0x7c9b77f8ea192466ull, "0", "1"},
    {"data/alltypes_tiny_pages.parquet", "date_string_col", 1, 7300, 0, 0xbd75528bf72e1bcbull, "01/13/09", "09/10/10"},
    {"data/alltypes_tiny_pages.parquet", "string_col", 1, 7300, 0, 0xa938322146c1270dull, "2", "4"},
    {"data/alltypes_tiny_pages_plain.parquet", "date_string_col", 1, 7300, 0, 0xbd75528bf72e1bcbull, "01/13/09", "09/10/10"},
    {"data/alltypes_tiny_pages_plain.parquet", "string_col", 1, 7300, 0, 0xa938322146c1270dull, "2", "4"},
    {"data/binary.parquet", "foo", 1, 12, 0, 0x901456b508bc9f59ull, nullptr, nullptr},
    {"data/binary_truncated_min_max.parquet", "utf8_full_truncation", 1, 12, 0, 0x888672021ffe34fdull, "Blart Versenwald III", "Kevin Bacon"},
    {"data/binary_truncated_min_max.parquet", "binary_full_truncation", 1, 12, 0, 0x888672021ffe34fdull, "Blart Versenwald III", "Kevin Bacon"},
    {"data/binary_truncated_min_max.parquet", "utf8_partial_truncation", 1, 12, 0, 0xeb0c00d8bfdef2a0ull, "Blart Versenwald III", "\xf0\x9f\x9a\x80" "Kevin Bacon"},
    {"data/binary_truncated_min_max.parquet", "binary_partial_truncation", 1, 12, 0, 0x61d54abde07265ebull, "Blart Versenwald III", "\xff\xff\x01\x02"},
    {"data/binary_truncated_min_max.parquet", "utf8_no_truncation", 1, 12, 0, 0x7e16050214cbba49ull, "Blart Versenwald III", "Ke"},
    {"data/binary_truncated_min_max.parquet", "binary_no_truncation", 1, 12, 0, 0x7e16050214cbba49ull, "Blart Versenwald III", "Ke"},
    {"data/byte_array_decimal.parquet", "value", 1, 24, 0, 0x9b2d6a99f8d0abe3ull, "d", "\x09`"},
    {"data/data_index_bloom_encoding_stats.parquet", "String", 1, 14, 0, 0xc1a0078eb61b2612ull, "Hello", "dog"},
    {"data/data_index_bloom_encoding_with_length.parquet", "String", 1, 14, 0, 0xc1a0078eb61b2612ull, "Hello", "dog"},
    {"data/datapage_v2.snappy.parquet", "a", 1, 5, 1, 0xe8d3a47adb813283ull, "abc", "abc"},
    {"data/encrypt_columns_plaintext_footer.parquet.encrypted", "ba_field", 1, 50, 25, 0xbb39f87b6f1579a2ull, "parquet000", "parquet048"},
    {"data/geospatial/crs-arbitrary-value.parquet", "wkt", 1, 1, 0, 0x2cf904a7934b7a93ull, "POLYGON ((-1176249.4056551068 2538743.25", "POLYGON ((-1176249.4056551068 2538743.25"},
    {"data/geospatial/crs-arbitrary-value.parquet", "geometry", 1, 1, 0, 0x67cdd7c556451561ull, nullptr, nullptr},
    {"data/geospatial/crs-default.parquet", "wkt", 1, 1, 0, 0x737f2e49bf088589ull, "POLYGON ((-111 45, -111 44.9, -111 44.8,", "POLYGON ((-111 45, -111 44.9, -111 44.8,"},
    {"data/geospatial/crs-default.parquet", "geometry", 1, 1, 0, 0xdd2afc908c0b2d78ull, nullptr, nullptr},
    {"data/geospatial/crs-geography.parquet", "wkt", 1, 1, 0, 0x737f2e49bf088589ull, "POLYGON ((-111 45, -111 44.9, -111 44.8,", "POLYGON ((-111 45, -111 44.9, -111 44.8,"},
    {"data/geospatial/crs-geography.parquet", "geography", 1, 1, 0, 0xdd2afc908c0b2d78ull, nullptr, nullptr},
    {"data/geospatial/crs-projjson.parquet", "wkt", 1, 1, 0, 0x2cf904a7934b7a93ull, "POLYGON ((-1176249.4056551068 2538743.25", "POLYGON ((-1176249.4056551068 2538743.25"},
    {"data/geospatial/crs-projjson.parquet", "geometry", 1, 1, 0, 0x67cdd7c556451561ull, nullptr, nullptr},
    {"data/geospatial/crs-srid.parquet", "wkt", 1, 1, 0, 0x2cf904a7934b7a93ull, "POLYGON ((-1176249.4056551068 2538743.25", "POLYGON ((-1176249.4056551068 2538743.25"},
    {"data/geospatial/crs-srid.parquet", "geometry", 1, 1, 0, 0x67cdd7c556451561ull, nullptr, nullptr},
    {"data/geospatial/geography-lines.parquet", "geometry", 50, 499, 0, 0xbf0abdf488250493ull, nullptr, nullptr},
    {"data/geospatial/geography-points.parquet", "geometry", 50, 500, 0, 0xb8727727b1210583ull, nullptr, nullptr},
    {"data/geospatial/geography-polygons.parquet", "geometry", 50, 500, 0, 0xe9ae74db6928490full, nullptr, nullptr},
    {"data/geospatial/geospatial-with-nan.parquet", "group", 1, 3, 0, 0x8128665216261e06ull, "with-nan", "with-nan"},
    {"data/geospatial/geospatial-with-nan.parquet", "wkt", 1, 3, 0, 0x44a69624e00f73f2ull, "POINT ZM (10 20 30 40)", "LINESTRING ZM (90 100 110 120, nan nan n"},
    {"data/geospatial/geospatial-with-nan.parquet", "geometry", 1, 3, 0, 0x16371429432cad81ull, nullptr, nullptr},
    {"data/geospatial/geospatial.parquet", "group", 31, 196, 0, 0x491d1c63738521a9ull, "all", "geometrycollection-zm"},
    {"data/geospatial/geospatial.parquet", "wkt", 31, 196, 32, 0xf41b713bd086c7caull, "POINT (30 10)", "GEOMETRYCOLLECTION ZM EMPTY"},
    {"data/geospatial/geospatial.parquet", "geometry", 31, 196, 32, 0x93ec8aea77525a33ull, nullptr, nullptr},
    {"data/nation.dict-malformed.parquet", "name", 1, 25, 0, 0x6cda05d2752da2a9ull, "ALGERIA", "UNITED STATES"},
    {"data/nation.dict-malformed.parquet", "comment_col", 1, 25, 0, 0x4dca4d2de1f7928bull, " haggle. carefully final deposits detect", "y final packages. slow foxes cajole quic"},
    {"data/plain-dict-uncompressed-checksum.parquet", "binary_field", 1, 1000, 0, 0x875e71bfce2e0025ull, "a655fd0e-9949-4059-bcae-fd6a002a4652", "a655fd0e-9949-4059-bcae-fd6a002a4652"},
    {"data/rle-dict-snappy-checksum.parquet", "binary_field", 1, 1000, 0, 0x03575803c044f4bdull, "c95e263a-f5d4-401f-8107-5ca7146a1f98", "c95e263a-f5d4-401f-8107-5ca7146a1f98"},
    {"data/sort_columns.parquet", "b", 2, 6, 0, 0x560232b2d3704531ull, "a", "c"},
    {"data/unknown-logical-type.parquet", "column with known type", 1, 3, 0, 0xae48325050034170ull, "known string 1", "known string 3"},
    {"data/unknown-logical-type.parquet", "column with unknown type", 1, 3, 0, 0xb785b25cef868dc7ull, "unknown string 1", "unknown string 3"},
    // bad_data files whose defects lie in other columns (see BadData below): these read right.
    {"bad_data/ARROW-GH-41317.parquet", "string", 2, 5, 1, 0x30d6040c098f9894ull, "abcd", "d"},
    {"bad_data/ARROW-GH-41317.parquet", "large_string", 2, 5, 1, 0x30d6040c098f9894ull, "abcd", "d"},
    {"bad_data/ARROW-GH-41317.parquet", "binary", 2, 5, 0, 0x4a3fba5fcfe4ecb1ull, nullptr, nullptr},
    {"bad_data/ARROW-GH-41317.parquet", "large_binary", 2, 5, 0, 0x4a3fba5fcfe4ecb1ull, nullptr, nullptr},
    {"bad_data/ARROW-GH-41317.parquet", "dict", 2, 5, 1, 0x51b5fb557815a832ull, "foo", "baz"},
    {"bad_data/ARROW-GH-41317.parquet", "geometry", 2, 5, 1, 0x2f865f59fecd9177ull, nullptr, nullptr},
    {"bad_data/ARROW-GH-41321.parquet", "string", 2, 5, 1, 0x30d6040c098f9894ull, "abcd", "d"},
    {"bad_data/ARROW-GH-41321.parquet", "large_string", 2, 5, 1, 0x30d6040c098f9894ull, "abcd", "d"},
    {"bad_data/ARROW-GH-41321.parquet", "binary", 2, 5, 0, 0x4a3fba5fcfe4ecb1ull, nullptr, nullptr},
    {"bad_data/ARROW-GH-41321.parquet", "dict", 2, 5, 1, 0x51b5fb557815a832ull, "foo", "baz"},
    {"bad_data/ARROW-GH-41321.parquet", "geometry", 2, 5, 1, 0x2f865f59fecd9177ull, nullptr, nullptr},
};

class GoodColumn : public ::testing::TestWithParam<Expected> {};

TEST_P(GoodColumn, ReadsExactlyWhatPyarrowReads) {
  REQUIRE_PARQUET_TESTING();
  const Expected& e = GetParam();
  ParquetReader r(testing_file(e.file), e.column);
  EXPECT_EQ(r.num_row_groups(), e.row_groups);
  EXPECT_EQ(r.num_rows(), static_cast<std::int64_t>(e.rows));

  const auto rows = read_all_nullable(r);
  ASSERT_EQ(rows.size(), e.rows);
  EXPECT_EQ(static_cast<std::size_t>(std::count(rows.begin(), rows.end(), std::nullopt)), e.nulls);
  EXPECT_EQ(fnv_rows(rows), e.hash);

  // The plain API gives the same values with nulls skipped, row group by row group.
  std::vector<std::string> values;
  std::int64_t counted_rows = 0;
  for (std::size_t g = 0; g < r.num_row_groups(); ++g) {
    auto part = r.read_row_group(g);
    values.insert(values.end(), part.begin(), part.end());
    counted_rows += r.num_rows(g);
  }
  EXPECT_EQ(counted_rows, r.num_rows());
  ASSERT_EQ(values.size(), e.rows - e.nulls);
  std::size_t next = 0;
  for (const auto& row : rows) {
    if (row) {
      EXPECT_EQ(*row, values[next++]);
    }
  }
  if (e.first != nullptr && !values.empty()) {
    EXPECT_EQ(values.front().substr(0, 40), e.first);
    EXPECT_EQ(values.back().substr(0, 40), e.last);
  }
}

INSTANTIATE_TEST_SUITE_P(ParquetTesting, GoodColumn, ::testing::ValuesIn(kGoodColumns));

TEST(ParquetReader, NullsAreSkippedOrReported) {
  REQUIRE_PARQUET_TESTING();
  ParquetReader r(testing_file("bad_data/ARROW-GH-41317.parquet"), "string");
  const std::vector<std::optional<std::string>> want = {std::string("abcd"), std::string(), std::nullopt};
  EXPECT_EQ(r.read_row_group_nullable(0), want);
  EXPECT_EQ(r.read_row_group(0), (std::vector<std::string>{"abcd", ""}));
  EXPECT_EQ(r.read_row_group(1), (std::vector<std::string>{"c", "d"}));
}

TEST(ParquetReader, DefaultColumnIsText) {
  REQUIRE_PARQUET_TESTING();
  ParquetReader r(testing_file("data/datapage_v2.snappy.parquet"), "a");
  EXPECT_EQ(r.column(), "a");
  try {
    ParquetReader missing(testing_file("data/datapage_v2.snappy.parquet"));
    FAIL() << "expected an error for the missing default column";
  } catch (const nanochat::Error& e) {
    EXPECT_NE(std::string(e.what()).find("no column 'text'"), std::string::npos) << e.what();
  }
}

// ---- Errors ------------------------------------------------------------------------------

TEST(ParquetReader, MissingColumnNamesFileAndListsColumns) {
  REQUIRE_PARQUET_TESTING();
  const std::string path = testing_file("data/alltypes_plain.parquet");
  try {
    ParquetReader r(path, "text");
    FAIL() << "expected an error";
  } catch (const nanochat::Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind(path + ": ", 0), 0u) << msg;
    EXPECT_NE(msg.find("no column 'text'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("'string_col'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("'date_string_col'"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
  const auto names = ParquetReader::list_columns(path);
  EXPECT_EQ(names.size(), 11u);
  EXPECT_NE(std::find(names.begin(), names.end(), "string_col"), names.end());
}

struct Refusal {
  const char* file;
  const char* column;
  const char* message;  // a substring the error must contain
};

void PrintTo(const Refusal& r, std::ostream* os) { *os << r.file << ":" << r.column; }

// Files in data/ that are valid Parquet but outside this reader's scope, or corrupt on purpose.
const Refusal kRefusedGoodFiles[] = {
    {"data/rle-dict-uncompressed-corrupt-checksum.parquet", "binary_field", "page checksum mismatch"},
    {"data/delta_byte_array.parquet", "c_customer_id", "unsupported value encoding DELTA_BYTE_ARRAY"},
    {"data/delta_encoding_optional_column.parquet", "c_email_address", "unsupported value encoding DELTA_BYTE_ARRAY"},
    {"data/delta_encoding_required_column.parquet", "c_first_name:", "unsupported value encoding DELTA_BYTE_ARRAY"},
    {"data/delta_length_byte_array.parquet", "FRUIT", "unsupported value encoding DELTA_LENGTH_BYTE_ARRAY"},
    {"data/hadoop_lz4_compressed.parquet", "c1", "compression LZ4 is not supported"},
    {"data/non_hadoop_lz4_compressed.parquet", "c1", "compression LZ4 is not supported"},
    {"data/lz4_raw_compressed_larger.parquet", "a", "compression LZ4_RAW is not supported"},
    {"data/list_columns.parquet", "utf8_list.list.item", "nested or repeated"},
    {"data/repeated_primitive_no_list.parquet", "String_list", "nested or repeated"},
    {"data/nested_structs.rust.parquet", "roll_num", "is a nested group"},
    {"data/alltypes_plain.parquet", "id", "physical type INT32"},
    {"data/fixed_length_byte_array.parquet", "flba_field", "physical type FIXED_LEN_BYTE_ARRAY"},
    {"data/uniform_encryption.parquet.encrypted", "text", "encrypted footer"},
    {"data/aes256/encrypt_columns_plaintext_footer.parquet.encrypted", "ba_field", "column is encrypted"},
};

class RefusedColumn : public ::testing::TestWithParam<Refusal> {};

TEST_P(RefusedColumn, FailsWithAClearOneLineError) {
  REQUIRE_PARQUET_TESTING();
  const Refusal& want = GetParam();
  const std::string path = testing_file(want.file);
  const auto err = read_error(path, want.column);
  ASSERT_TRUE(err.has_value()) << "read without error";
  EXPECT_EQ(err->rfind(path + ": ", 0), 0u) << *err;
  EXPECT_NE(err->find(want.message), std::string::npos) << *err;
  EXPECT_EQ(err->find('\n'), std::string::npos) << *err;
}

INSTANTIATE_TEST_SUITE_P(ParquetTesting, RefusedColumn, ::testing::ValuesIn(kRefusedGoodFiles));

// Per bad_data file: what this reader says about the broken part. Columns not listed here are
// refused too (BadData.EveryFileAndColumnIsRefused), except the flat string columns of
// ARROW-GH-41317 / -41321 in kGoodColumns, whose defects lie in other (nested) columns.
const Refusal kBadData[] = {
    // A schema Thrift value corrupted: a physical type out of range.
    {"bad_data/PARQUET-1481.parquet", "text", "invalid physical type"},
    // Negative dictionary num_values; its column chunks also overrun the (truncated) data section.
    {"bad_data/ARROW-RS-GH-6229-DICTHEADER.parquet", "name", "lies outside the data section"},
    {"bad_data/ARROW-RS-GH-6229-DICTHEADER.parquet", "comment_col", "lies outside the data section"},
    // Fewer definition levels than the page's num_values (row group 0 of large_binary).
    {"bad_data/ARROW-GH-41321.parquet", "large_binary", "definition levels: data ends"},
    // Remaining files hold no top-level string column; their broken parts are nested lists,
    // INT32 dictionaries or FIXED_LEN_BYTE_ARRAY, all out of scope and refused as such.
    {"bad_data/ARROW-GH-41317.parquet", "list_string.list.item", "nested or repeated"},
    {"bad_data/ARROW-GH-43605.parquet", "min_fl", "physical type INT32"},
    {"bad_data/ARROW-GH-45185.parquet", "x.list.element", "nested or repeated"},
    {"bad_data/ARROW-GH-47662.parquet", "flba_field", "physical type FIXED_LEN_BYTE_ARRAY"},
    {"bad_data/ARROW-RS-GH-6229-LEVELS.parquet", "outer.list.item.c", "nested or repeated"},
};

INSTANTIATE_TEST_SUITE_P(BadData, RefusedColumn, ::testing::ValuesIn(kBadData));

TEST(BadData, EveryFileAndColumnIsRefused) {
  REQUIRE_PARQUET_TESTING();
  std::set<std::pair<std::string, std::string>> readable;
  for (const Expected& e : kGoodColumns) readable.emplace(testing_file(e.file), e.column);
  const auto files = parquet_files_under(testing_dir() / "bad_data");
  EXPECT_EQ(files.size(), 8u);
  for (const std::string& path : files) {
    for (const std::string& column : columns_to_try(path)) {
      const auto err = read_error(path, column);
      if (readable.count({path, column}) != 0) {
        EXPECT_FALSE(err.has_value()) << path << ":" << column << ": " << *err;
      } else {
        EXPECT_TRUE(err.has_value()) << path << ":" << column << " was read without error";
      }
    }
  }
}

TEST(BadData, GoodRowGroupsOfABrokenColumnStillRead) {
  REQUIRE_PARQUET_TESTING();
  ParquetReader r(testing_file("bad_data/ARROW-GH-41321.parquet"), "large_binary");
  EXPECT_THROW(r.read_row_group(0), nanochat::Error);
  EXPECT_EQ(r.read_row_group(1), (std::vector<std::string>{std::string("\x00\x01", 2), std::string("\x00\x01", 2)}));
}

// Opening or reading any column of any file in parquet-testing either works or throws
// nanochat::Error: never another exception type, a crash or a hang.
TEST(ParquetReader, EveryFileAndColumnReadsOrThrowsError) {
  REQUIRE_PARQUET_TESTING();
  std::size_t attempts = 0;
  for (const std::string& path : parquet_files_under(testing_dir())) {
    for (const std::string& column : columns_to_try(path)) {
      try {
        read_error(path, column);
        ++attempts;
      } catch (const std::exception& e) {
        ADD_FAILURE() << path << ":" << column << ": non-Error exception: " << e.what();
      }
    }
  }
  EXPECT_GT(attempts, 300u);
}

TEST(ParquetReader, NonParquetInputsAreRefused) {
  REQUIRE_PARQUET_TESTING();
  ScratchDir scratch;
  const std::string readme = testing_file("README.md");
  const std::string cases[][2] = {
      {testing_file("no_such_file.parquet"), "cannot open"},
      {testing_file("data"), "not a regular file"},
      {readme, "not a Parquet file"},
      {scratch.write("empty.parquet", ""), "too small"},
      {scratch.write("magic_only.parquet", "PAR1PAR1"), "too small"},
      {scratch.write("huge_footer.parquet", std::string("PAR1") + "xxxx" + "\xff\xff\xff\x7f" + "PAR1"), "footer length"},
      {scratch.write("junk_footer.parquet", std::string("PAR1") + "\x17\x17\x17\x17" + std::string("\x04\x00\x00\x00", 4) + "PAR1"),
       "footer: thrift"},
  };
  for (const auto& c : cases) {
    const auto err = read_error(c[0], "text");
    ASSERT_TRUE(err.has_value()) << c[0];
    EXPECT_NE(err->find(c[0]), std::string::npos) << *err;
    EXPECT_NE(err->find(c[1]), std::string::npos) << *err;
  }
}

TEST(ParquetReader, RowGroupOutOfRangeThrows) {
  REQUIRE_PARQUET_TESTING();
  ParquetReader r(testing_file("data/sort_columns.parquet"), "b");
  EXPECT_THROW(r.read_row_group(2), nanochat::Error);
  EXPECT_THROW(r.num_rows(2), nanochat::Error);
}

// ---- Damaged copies ----------------------------------------------------------------------

// Files covering every codec and page kind we read, small enough to damage thousands of times.
const std::pair<const char*, const char*> kDamageTargets[] = {
    {"data/datapage_v2.snappy.parquet", "a"},                         // v2 pages, snappy, nulls
    {"data/alltypes_plain.snappy.parquet", "date_string_col"},        // v1, snappy, dictionary
    {"data/data_index_bloom_encoding_stats.parquet", "String"},       // gzip, PLAIN
    {"data/geospatial/geography-points.parquet", "geometry"},         // zstd, 50 row groups
    {"data/geospatial/geospatial.parquet", "wkt"},                    // 31 row groups, nulls
    {"data/plain-dict-uncompressed-checksum.parquet", "binary_field"},  // page CRCs
};

TEST(DamagedFiles, TruncatedCopiesThrowAtEveryCutPoint) {
  REQUIRE_PARQUET_TESTING();
  ScratchDir scratch;
  for (const auto& [file, column] : kDamageTargets) {
    const std::string bytes = slurp(testing_file(file));
    const std::size_t step = std::max<std::size_t>(1, bytes.size() / 150);
    for (std::size_t cut = 0; cut < bytes.size(); cut += step) {
      const std::string path = scratch.write("cut.parquet", bytes.substr(0, cut));
      EXPECT_TRUE(read_error(path, column).has_value()) << file << " cut at " << cut;
    }
  }
}

// A cut through the data with the footer re-attached: offsets now point past the data or into
// the wrong bytes. Must never crash, and must fail once all data is gone.
TEST(DamagedFiles, CutDataWithFooterReattachedFailsCleanly) {
  REQUIRE_PARQUET_TESTING();
  ScratchDir scratch;
  for (const auto& [file, column] : kDamageTargets) {
    const std::string bytes = slurp(testing_file(file));
    const std::uint32_t footer_len = static_cast<unsigned char>(bytes[bytes.size() - 8]) |
                                     static_cast<unsigned char>(bytes[bytes.size() - 7]) << 8 |
                                     static_cast<unsigned char>(bytes[bytes.size() - 6]) << 16 |
                                     static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[bytes.size() - 5])) << 24;
    const std::size_t data_end = bytes.size() - 8 - footer_len;
    const std::string footer = bytes.substr(data_end);
    const std::size_t step = std::max<std::size_t>(1, data_end / 100);
    for (std::size_t cut = 4; cut < data_end; cut += step) {
      const std::string path = scratch.write("cut_footer.parquet", bytes.substr(0, cut) + footer);
      try {
        read_error(path, column);
      } catch (const std::exception& e) {
        ADD_FAILURE() << file << " cut at " << cut << ": non-Error exception: " << e.what();
      }
    }
    const std::string path = scratch.write("no_data.parquet", bytes.substr(0, 4) + footer);
    EXPECT_TRUE(read_error(path, column).has_value()) << file;
  }
}

// Random byte damage anywhere, half of it aimed at the footer's Thrift: every outcome is a
// read or an Error. Deterministic seed so failures reproduce.
TEST(DamagedFiles, RandomByteDamageNeverCrashes) {
  REQUIRE_PARQUET_TESTING();
  ScratchDir scratch;
  std::mt19937_64 rng(20240611);
  std::size_t refused = 0;
  std::size_t total = 0;
  for (const auto& [file, column] : kDamageTargets) {
    const std::string original = slurp(testing_file(file));
    for (int trial = 0; trial < 400; ++trial) {
      std::string bytes = original;
      const std::size_t footer_zone = std::min<std::size_t>(bytes.size(), 600);
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips; ++f) {
        const std::size_t at = (trial % 2 == 0) ? bytes.size() - 1 - rng() % footer_zone : rng() % bytes.size();
        bytes[at] = static_cast<char>(rng() & 0xff);
      }
      const std::string path = scratch.write("damaged.parquet", bytes);
      try {
        refused += read_error(path, column).has_value() ? 1 : 0;
        ++total;
      } catch (const std::exception& e) {
        ADD_FAILURE() << file << " trial " << trial << ": non-Error exception: " << e.what();
      }
    }
  }
  EXPECT_EQ(total, 2400u);
  EXPECT_GT(refused, total / 4);
}

// ---- Iteration and threads ---------------------------------------------------------------

TEST(ParquetReader, ForEachRowGroupFollowsRankAndWorldSize) {
  REQUIRE_PARQUET_TESTING();
  ParquetReader r(testing_file("data/geospatial/geography-points.parquet"), "geometry");
  ASSERT_EQ(r.num_row_groups(), 50u);
  const std::size_t world = 4;
  std::vector<std::size_t> seen;
  std::size_t texts = 0;
  for (std::size_t rank = 0; rank < world; ++rank) {
    r.for_each_row_group(
        [&](std::size_t g, std::vector<std::string>& batch) {
          EXPECT_EQ(g % world, rank);
          EXPECT_EQ(batch, r.read_row_group(g));
          seen.push_back(g);
          texts += batch.size();
          return true;
        },
        rank, world);
  }
  std::sort(seen.begin(), seen.end());
  ASSERT_EQ(seen.size(), 50u);
  for (std::size_t g = 0; g < seen.size(); ++g) EXPECT_EQ(seen[g], g);
  EXPECT_EQ(texts, 500u);

  std::size_t calls = 0;
  r.for_each_row_group([&](std::size_t, std::vector<std::string>&) { return ++calls < 3; });
  EXPECT_EQ(calls, 3u);
  calls = 0;
  r.for_each_row_group([&](std::size_t, std::vector<std::string>&) { return ++calls > 0; }, 49, SIZE_MAX);
  EXPECT_EQ(calls, 1u);
  EXPECT_THROW(r.for_each_row_group([](std::size_t, std::vector<std::string>&) { return true; }, 0, 0), nanochat::Error);
}

TEST(ParquetReader, ConcurrentReadsMatchSequentialOnes) {
  REQUIRE_PARQUET_TESTING();
  const ParquetReader r(testing_file("data/geospatial/geography-polygons.parquet"), "geometry");
  std::vector<std::vector<std::string>> sequential;
  for (std::size_t g = 0; g < r.num_row_groups(); ++g) sequential.push_back(r.read_row_group(g));
  std::vector<std::vector<std::vector<std::string>>> per_thread(4);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < per_thread.size(); ++t) {
    threads.emplace_back([&, t] {
      for (std::size_t g = 0; g < r.num_row_groups(); ++g) per_thread[t].push_back(r.read_row_group(g));
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& got : per_thread) EXPECT_EQ(got, sequential);
}

TEST(ParquetReader, MovedReaderKeepsWorking) {
  REQUIRE_PARQUET_TESTING();
  ParquetReader a(testing_file("data/sort_columns.parquet"), "b");
  ParquetReader b(std::move(a));
  EXPECT_EQ(b.num_rows(), 6);
  EXPECT_EQ(b.read_row_group(0).size(), 3u);
}

// ---- nanochat's own pretraining shards ---------------------------------------------------

// shared/data/README.md lists the pretraining sets; today they are JSONL (FineWeb-Edu has no
// GitHub copy), so this skips until Parquet shards with a `text` column appear there.
TEST(PretrainShards, EveryParquetShardReadsItsTextColumn) {
  const fs::path data = shared_dir() / "data";
  if (!fs::is_directory(data)) GTEST_SKIP() << "no shared data folder at " << data;
  std::vector<std::string> shards;
  for (const auto& entry : fs::directory_iterator(data)) {
    if (entry.is_directory() && entry.path().filename().string().rfind("pretrain", 0) == 0) {
      const auto found = parquet_files_under(entry.path());
      shards.insert(shards.end(), found.begin(), found.end());
    }
  }
  if (shards.empty()) GTEST_SKIP() << "no Parquet pretraining shards under " << data << " (they are JSONL)";
  for (const std::string& path : shards) {
    ParquetReader r(path);
    std::int64_t rows = 0;
    for (std::size_t g = 0; g < r.num_row_groups(); ++g) rows += static_cast<std::int64_t>(r.read_row_group(g).size());
    EXPECT_GT(rows, 0) << path;
  }
}

}  // namespace
