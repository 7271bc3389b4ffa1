// Named tensors to safetensors and back: every supported dtype, non-contiguous input,
// metadata, loading into existing tensors, and the errors for a file that does not fit.
#include "nanochat/tensor_io.hpp"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <string>

#include "nanochat/error.hpp"
#include "nanochat/safetensors.hpp"

namespace fs = std::filesystem;
using nanochat::Error;
using nanochat::NamedTensors;

namespace {

::testing::AssertionResult Contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << text << "' does not contain '" << part << "'";
}

class TensorIoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("nanochat_test_tensor_io_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = dir_ / "tensors.safetensors";
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string load_error(const NamedTensors& targets) {
    try {
      nanochat::load_tensors_into(path_, targets);
    } catch (const Error& e) {
      return e.what();
    }
    ADD_FAILURE() << "load_tensors_into accepted the file";
    return "";
  }

  fs::path dir_, path_;
};

TEST_F(TensorIoTest, RoundTripsEveryDtypeWithMetadata) {
  NamedTensors tensors = {
      {"f32", at::randn({3, 4})},
      {"bf16", at::randn({5}).to(at::kBFloat16)},
      {"f16", at::randn({2, 2}).to(at::kHalf)},
      {"i64", at::arange(7, at::kLong)},
      {"i32", at::arange(3, at::kInt).neg()},
      {"u8", at::arange(200, 205, at::kByte)},
      {"transposed", at::randn({4, 3}).t()},  // non-contiguous: saved in its logical layout
      {"empty", at::empty({0, 3})},
  };
  nanochat::save_tensors(path_, tensors, {{"step", "10"}, {"note", "hi"}});
  auto loaded = nanochat::load_tensors(path_, at::kCPU);
  EXPECT_EQ(loaded.metadata.at("step"), "10");
  EXPECT_EQ(loaded.metadata.at("note"), "hi");
  ASSERT_EQ(loaded.tensors.size(), tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    EXPECT_EQ(loaded.tensors[i].first, tensors[i].first);
    EXPECT_EQ(loaded.tensors[i].second.scalar_type(), tensors[i].second.scalar_type());
    EXPECT_TRUE(at::equal(loaded.tensors[i].second, tensors[i].second)) << tensors[i].first;
  }
  nanochat::SafetensorsReader reader(path_);
  EXPECT_EQ(reader.info("bf16").dtype, nanochat::DType::BF16);
  EXPECT_EQ(reader.info("transposed").shape, (std::vector<int64_t>{3, 4}));
}

TEST_F(TensorIoTest, LoadedTensorsOwnTheirMemory) {
  nanochat::save_tensors(path_, {{"x", at::ones({4})}});
  at::Tensor x = nanochat::load_tensors(path_, at::kCPU).tensors[0].second;
  fs::remove(path_);  // the mapping is gone; the tensor must not point into it
  x.add_(1);
  EXPECT_TRUE(at::equal(x, at::full({4}, 2.0f)));
}

TEST_F(TensorIoTest, LoadIntoConvertsFloatsAndStripsCompilePrefix) {
  at::Tensor source = at::randn({2, 3});
  nanochat::save_tensors(path_, {{"_orig_mod.w", source.to(at::kBFloat16)}, {"n", at::arange(3, at::kLong)}});
  at::Tensor w = at::zeros({2, 3}).requires_grad_(true);  // a parameter: copied without autograd
  at::Tensor n = at::zeros({3}, at::kLong);
  nanochat::load_tensors_into(path_, {{"w", w}, {"n", n}});
  EXPECT_TRUE(at::equal(w, source.to(at::kBFloat16).to(at::kFloat)));
  EXPECT_TRUE(at::equal(n, at::arange(3, at::kLong)));
}

TEST_F(TensorIoTest, MismatchesAreReportedTogetherAndNothingIsCopied) {
  nanochat::save_tensors(path_, {{"a", at::ones({2, 3})}, {"b", at::ones({4})}, {"extra", at::ones({1})},
                                 {"ints", at::ones({2}, at::kInt)}});
  at::Tensor a = at::zeros({3, 2}), b = at::zeros({4}), missing = at::zeros({1}), ints = at::zeros({2});
  std::string error = load_error({{"a", a}, {"b", b}, {"missing", missing}, {"ints", ints}});
  EXPECT_TRUE(Contains(error, path_.string()));
  EXPECT_TRUE(Contains(error, "missing tensor 'missing'"));
  EXPECT_TRUE(Contains(error, "unexpected tensor 'extra'"));
  EXPECT_TRUE(Contains(error, "'a' has shape [2, 3]"));
  EXPECT_TRUE(Contains(error, "'ints' is I32"));
  EXPECT_EQ(b.sum().item<float>(), 0.0f);  // b matched, but nothing is copied from a bad file
}

TEST_F(TensorIoTest, TruncatedFileIsRefused) {
  nanochat::save_tensors(path_, {{"x", at::randn({64, 64})}});
  fs::resize_file(path_, fs::file_size(path_) - 100);
  try {
    nanochat::load_tensors(path_, at::kCPU);
    FAIL();
  } catch (const Error& e) {
    EXPECT_TRUE(Contains(e.what(), path_.string()));
    EXPECT_TRUE(Contains(e.what(), "truncated"));
  }
  EXPECT_THROW(nanochat::load_tensors_into(path_, {{"x", at::zeros({64, 64})}}), Error);
}

TEST_F(TensorIoTest, UnsupportedDtypeAndUndefinedTensorAreRefused) {
  EXPECT_THROW(nanochat::save_tensors(path_, {{"c", at::randn({2}, at::kComplexFloat)}}), Error);
  EXPECT_THROW(nanochat::save_tensors(path_, {{"u", at::Tensor()}}), Error);
  EXPECT_THROW(nanochat::save_tensors(path_, {{"d", at::ones({1})}, {"d", at::ones({1})}}), Error);
  EXPECT_FALSE(fs::exists(path_));
}

}  // namespace
