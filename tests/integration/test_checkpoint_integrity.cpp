// Checkpoint integrity end to end through the real host: a tiny pretrain run records every
// file's size and XXH64 in its meta; after one flipped byte `nanochat checkpoints verify`
// names the damaged file and exits 1, `chat -p` and `--resume-from-step` refuse with the
// reason, earlier steps stay usable, and a checkpoint from before checksums still loads.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "host_process.hpp"
#include "tiny_base.hpp"

namespace fs = std::filesystem;
using nanochat::test::HostResult;
using nanochat::test::read_text;
using nanochat::test::write_text;
using nanochat::test::xxhsum_of;

namespace {

class CheckpointIntegrityTest : public ::testing::Test {
 protected:
  static inline nanochat::test::TinyBase* tiny = nullptr;
  static inline std::string pretrain_error;

  // Depth 1, 4 steps, saved at steps 2 and 4.
  static std::vector<std::string> pretrain(int steps) {
    return {"run", "pretrain", "--depth", "1", "--max-seq-len", "64", "--device-batch-size", "4",
            "--total-batch-size", "256", "--num-iterations", std::to_string(steps), "--save-every", "2",
            "--eval-every", "-1", "--sample-every", "-1", "--model-tag", "ck", "--device", "cpu", "--dtype", "fp32"};
  }

  static void SetUpTestSuite() {
    tiny = new nanochat::test::TinyBase(300000);
    if (!tiny->skip_reason().empty() || !tiny->error().empty()) return;
    HostResult r = tiny->run(pretrain(4));
    if (r.exit_code != 0) pretrain_error = r.err;
  }
  static void TearDownTestSuite() {
    delete tiny;
    tiny = nullptr;
  }

  void SetUp() override {
    if (!tiny->skip_reason().empty()) GTEST_SKIP() << tiny->skip_reason();
    ASSERT_EQ(tiny->error(), "");
    ASSERT_EQ(pretrain_error, "");
  }

  static fs::path dir() { return tiny->base() / "base_checkpoints" / "ck"; }

  static HostResult nanochat(const std::vector<std::string>& args) { return tiny->run(args); }

  // Flips one bit in the middle of `file`, keeping its size; returns the original bytes.
  static std::string flip_a_byte(const fs::path& file) {
    const std::string original = read_text(file);
    std::string damaged = original;
    damaged[damaged.size() / 2] = static_cast<char>(damaged[damaged.size() / 2] ^ 0x10);
    write_text(file, damaged);
    return original;
  }
};

TEST_F(CheckpointIntegrityTest, MetaListsEveryFileWithItsXxh64) {
  for (int step : {2, 4}) {
    const std::string tag = step == 2 ? "000002" : "000004";
    nlohmann::json meta = nlohmann::json::parse(read_text(dir() / ("meta_" + tag + ".json")));
    ASSERT_TRUE(meta.contains("files")) << meta.dump();
    EXPECT_EQ(meta["files"].size(), 2u);
    for (const std::string name : {"model_" + tag + ".safetensors", "optim_" + tag + "_rank0.safetensors"}) {
      const fs::path file = dir() / name;
      ASSERT_TRUE(meta["files"].contains(name)) << meta["files"].dump();
      EXPECT_EQ(meta["files"][name]["bytes"].get<uint64_t>(), fs::file_size(file));
      const std::string independent = xxhsum_of(file);
      if (!independent.empty()) EXPECT_EQ(meta["files"][name]["xxh64"], independent) << name;
    }
  }
  HostResult r = nanochat({"checkpoints", "verify", dir().string()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("step 000002: ok (2 files"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("step 000004: ok (2 files"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("2 steps: 2 ok, 0 damaged"), std::string::npos) << r.out;
}

TEST_F(CheckpointIntegrityTest, AFlippedByteIsNamedAndRefusedEverywhere) {
  const fs::path model = dir() / "model_000004.safetensors";
  const std::string original = flip_a_byte(model);

  // verify: the damaged step by name, the intact one ok, exit 1; from the base dir too.
  for (const fs::path& where : {dir(), tiny->base()}) {
    HostResult r = nanochat({"checkpoints", "verify", where.string()});
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_NE(r.out.find("step 000004: DAMAGED (model_000004.safetensors: checksum mismatch (expected "),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("step 000002: ok"), std::string::npos) << r.out;
  }
  HostResult from_base = nanochat({"checkpoints", "verify"});  // default: $NANOCHAT_BASE_DIR
  EXPECT_EQ(from_base.exit_code, 1);
  EXPECT_NE(from_base.out.find("base_checkpoints/ck step 000004: DAMAGED"), std::string::npos) << from_base.out;

  // chat: refuses with the reason and the steps it could use instead.
  HostResult chat = nanochat({"chat", "-p", "hi", "--max-tokens", "4", "--device", "cpu"});
  EXPECT_EQ(chat.exit_code, 1) << chat.err;
  EXPECT_NE(chat.err.find(model.string() + ": checksum mismatch (expected "), std::string::npos) << chat.err;
  EXPECT_NE(chat.err.find("the file is damaged; choose an earlier step with --step (saved: 2, 4)"), std::string::npos)
      << chat.err;
  HostResult earlier = nanochat({"chat", "-p", "hi", "--max-tokens", "4", "--device", "cpu", "--step", "2"});
  EXPECT_EQ(earlier.exit_code, 0) << earlier.err;

  // resume: refuses from the damaged step, resumes from the one before.
  auto resume = pretrain(6);
  resume.insert(resume.end(), {"--resume-from-step", "4"});
  HostResult refused = nanochat(resume);
  EXPECT_EQ(refused.exit_code, 1) << refused.err;
  EXPECT_NE(refused.err.find("model_000004.safetensors: checksum mismatch"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("the file is damaged; resume from an earlier step"), std::string::npos) << refused.err;
  write_text(model, original);
  EXPECT_EQ(nanochat({"checkpoints", "verify", dir().string()}).exit_code, 0) << "restored";
}

TEST_F(CheckpointIntegrityTest, ADamagedOptimizerFileStopsResumeButNotChat) {
  const fs::path optim = dir() / "optim_000002_rank0.safetensors";
  const std::string original = flip_a_byte(optim);
  auto resume = pretrain(4);
  resume.insert(resume.end(), {"--resume-from-step", "2"});
  HostResult refused = nanochat(resume);
  EXPECT_EQ(refused.exit_code, 1) << refused.err;
  EXPECT_NE(refused.err.find("optim_000002_rank0.safetensors: checksum mismatch"), std::string::npos) << refused.err;
  HostResult r = nanochat({"checkpoints", "verify", dir().string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("step 000002: DAMAGED (optim_000002_rank0.safetensors: checksum mismatch"), std::string::npos)
      << r.out;
  // chat reads only the weights, which are intact.
  EXPECT_EQ(nanochat({"chat", "-p", "hi", "--max-tokens", "4", "--device", "cpu", "--step", "2"}).exit_code, 0);
  write_text(optim, original);
}

TEST_F(CheckpointIntegrityTest, MissingFilesAndOldCheckpoints) {
  // A checkpoint saved before checksums: it loads, with one warning, and verify says so.
  const fs::path meta_file = dir() / "meta_000004.json";
  const std::string meta_text = read_text(meta_file);
  nlohmann::json old = nlohmann::json::parse(meta_text);
  old.erase("files");
  write_text(meta_file, old.dump());
  HostResult chat = nanochat({"chat", "-p", "hi", "--max-tokens", "4", "--device", "cpu"});
  EXPECT_EQ(chat.exit_code, 0) << chat.err;
  EXPECT_NE(chat.err.find("meta_000004.json lists no checksums (saved by an older nanochat)"), std::string::npos)
      << chat.err;
  HostResult r = nanochat({"checkpoints", "verify", dir().string()});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("step 000004: unverified"), std::string::npos) << r.out;
  write_text(meta_file, meta_text);

  // A listed file that is gone.
  const fs::path optim = dir() / "optim_000004_rank0.safetensors";
  fs::rename(optim, dir() / "moved");
  r = nanochat({"checkpoints", "verify", dir().string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("step 000004: DAMAGED (optim_000004_rank0.safetensors is missing (meta_000004.json lists it))"),
            std::string::npos)
      << r.out;
  fs::rename(dir() / "moved", optim);
}

TEST_F(CheckpointIntegrityTest, VerifyRefusesBadArguments) {
  HostResult none = nanochat({"checkpoints", "verify", (tiny->root() / "nothing-here").string()});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find("no folder"), std::string::npos) << none.err;
  HostResult empty = nanochat({"checkpoints", "verify", (tiny->base() / "tokenizer").string()});
  EXPECT_EQ(empty.exit_code, 1);
  EXPECT_NE(empty.err.find("no checkpoints under"), std::string::npos) << empty.err;
  EXPECT_EQ(nanochat({"checkpoints", "check"}).exit_code, 2);
  EXPECT_EQ(nanochat({"checkpoints", "verify", "a", "b"}).exit_code, 2);
  EXPECT_EQ(nanochat({"checkpoints", "--help"}).exit_code, 0);
}

}  // namespace
