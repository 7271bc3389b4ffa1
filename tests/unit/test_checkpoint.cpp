// Checkpoint integrity (checkpoint.hpp) on real files: the file list a meta records, the
// verification that names a flipped, truncated, missing or unlisted file, the one warning
// for an old meta without a list, the full check behind `nanochat checkpoints verify`, and
// the cheap completeness test for choosing a step to resume from.
#include <gtest/gtest.h>

#include <fstream>

#include "nanochat/checkpoint.hpp"
#include "nanochat/error.hpp"
#include "../integration/host_process.hpp"

namespace fs = std::filesystem;
using namespace nanochat;
using nanochat::test::read_text;
using nanochat::test::write_text;

namespace {

// A saved step with `ranks` optimizer files; the contents are arbitrary bytes, since the
// checks compare bytes and never parse them.
struct SavedStep {
  nanochat::test::ScratchDir scratch;
  CheckpointFiles files{scratch.path / "d1", 100};
  nlohmann::json meta;

  explicit SavedStep(int ranks, bool with_list = true) {
    fs::create_directories(files.dir);
    write_text(files.model(), std::string(5000, 'm') + "weights");
    std::vector<FileDigest> optimizers;
    for (int rank = 0; rank < ranks; ++rank) {
      write_text(files.optimizer(rank), std::string(3000 + rank, static_cast<char>('a' + rank)));
      optimizers.push_back(digest_file(files.optimizer(rank)));
    }
    meta = {{"step", files.step}, {"world_size", ranks}};
    if (with_list) meta["files"] = checkpoint_file_list(files, digest_file(files.model()), optimizers);
    write_json_file(files.meta(), meta);
  }
};

void flip_byte(const fs::path& file, size_t offset) {
  std::string bytes = read_text(file);
  bytes[offset] = static_cast<char>(bytes[offset] ^ 0x01);
  write_text(file, bytes);
}

// The Error verify_checkpoint_file throws for `file`, or "" (with a failure) if none.
std::string verify_error(const SavedStep& step, const fs::path& file) {
  try {
    verify_checkpoint_file(step.files, step.meta, file, "resume from an earlier step");
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << file << " passed";
  return "";
}

TEST(CheckpointFiles, MetaListsEveryFileWithSizeAndHash) {
  SavedStep step(2);
  const nlohmann::json& list = step.meta.at("files");
  ASSERT_EQ(list.size(), 3u);
  for (const fs::path& path : {step.files.model(), step.files.optimizer(0), step.files.optimizer(1)}) {
    const nlohmann::json& entry = list.at(path.filename().string());
    EXPECT_EQ(entry.at("bytes").get<uint64_t>(), fs::file_size(path));
    EXPECT_EQ(entry.at("xxh64").get<std::string>(), hex64(digest_file(path).xxh64));
  }
  EXPECT_TRUE(list.contains("model_000100.safetensors"));
  EXPECT_TRUE(list.contains("optim_000100_rank1.safetensors"));
}

TEST(CheckpointFiles, IntactFilesPass) {
  SavedStep step(2);
  for (const fs::path& path : {step.files.model(), step.files.optimizer(0), step.files.optimizer(1)}) {
    EXPECT_NO_THROW(verify_checkpoint_file(step.files, step.meta, path, "unused"));
  }
  const CheckpointCheck check = check_checkpoint(step.files);
  EXPECT_EQ(check.status, CheckpointCheck::Status::ok) << check.detail;
  EXPECT_NE(check.detail.find("3 files"), std::string::npos) << check.detail;
}

TEST(CheckpointFiles, AFlippedByteIsNamedWithBothHashes) {
  SavedStep step(1);
  const std::string expected = step.meta["files"]["model_000100.safetensors"]["xxh64"];
  flip_byte(step.files.model(), 2500);
  const std::string got = hex64(digest_file(step.files.model()).xxh64);
  ASSERT_NE(got, expected);
  EXPECT_EQ(verify_error(step, step.files.model()),
            step.files.model().string() + ": checksum mismatch (expected " + expected + ", got " + got +
                "): the file is damaged; resume from an earlier step");
  EXPECT_NO_THROW(verify_checkpoint_file(step.files, step.meta, step.files.optimizer(0), "unused"));
  const CheckpointCheck check = check_checkpoint(step.files);
  EXPECT_EQ(check.status, CheckpointCheck::Status::damaged);
  EXPECT_EQ(check.detail.rfind("model_000100.safetensors: checksum mismatch", 0), 0u) << check.detail;
  // A flipped byte keeps the size: only the hash can see it, so the cheap test passes.
  EXPECT_TRUE(checkpoint_complete(step.files));
}

TEST(CheckpointFiles, TruncatedMissingAndUnlistedFilesAreNamed) {
  SavedStep step(1);
  fs::resize_file(step.files.optimizer(0), 1000);
  EXPECT_NE(verify_error(step, step.files.optimizer(0)).find("optim_000100_rank0.safetensors: 1000 bytes, expected 3000"),
            std::string::npos);
  EXPECT_FALSE(checkpoint_complete(step.files));
  fs::remove(step.files.optimizer(0));
  EXPECT_NE(verify_error(step, step.files.optimizer(0)).find("optim_000100_rank0.safetensors is missing (meta_000100.json lists it)"),
            std::string::npos);
  EXPECT_FALSE(checkpoint_complete(step.files));
  const CheckpointCheck check = check_checkpoint(step.files);
  EXPECT_EQ(check.status, CheckpointCheck::Status::damaged);
  EXPECT_NE(check.detail.find("optim_000100_rank0.safetensors is missing"), std::string::npos) << check.detail;
  // A rank the run did not have (resumed with more ranks than it was saved with).
  EXPECT_NE(verify_error(step, step.files.optimizer(1)).find("does not list it"), std::string::npos);
}

TEST(CheckpointFiles, MalformedListsAreRefusedNotFollowed) {
  SavedStep step(1);
  step.meta["files"]["../../outside"] = step.meta["files"]["model_000100.safetensors"];
  write_json_file(step.files.meta(), step.meta);
  CheckpointCheck check = check_checkpoint(step.files);
  EXPECT_EQ(check.status, CheckpointCheck::Status::damaged);
  EXPECT_NE(check.detail.find("malformed"), std::string::npos) << check.detail;
  EXPECT_FALSE(checkpoint_complete(step.files));

  step.meta["files"] = {{"model_000100.safetensors", {{"xxh64", "not hex"}, {"bytes", 1}}}};
  EXPECT_NE(verify_error(step, step.files.model()).find("malformed"), std::string::npos);
  write_text(step.files.meta(), "{ not json");
  check = check_checkpoint(step.files);
  EXPECT_EQ(check.status, CheckpointCheck::Status::damaged);
  EXPECT_NE(check.detail.find("not valid JSON"), std::string::npos) << check.detail;
  EXPECT_FALSE(checkpoint_complete(step.files));
}

TEST(CheckpointFiles, OldMetaWithoutListLoadsWithOneWarning) {
  SavedStep step(2, /*with_list=*/false);
  testing::internal::CaptureStderr();
  EXPECT_NO_THROW(verify_checkpoint_file(step.files, step.meta, step.files.model(), "unused"));
  EXPECT_NO_THROW(verify_checkpoint_file(step.files, step.meta, step.files.optimizer(1), "unused"));
  const std::string warnings = testing::internal::GetCapturedStderr();
  EXPECT_NE(warnings.find("meta_000100.json lists no checksums"), std::string::npos) << warnings;
  EXPECT_EQ(warnings.find("lists no checksums"), warnings.rfind("lists no checksums")) << "warned twice: " << warnings;

  CheckpointCheck check = check_checkpoint(step.files);
  EXPECT_EQ(check.status, CheckpointCheck::Status::unverified) << check.detail;
  EXPECT_TRUE(checkpoint_complete(step.files));
  fs::remove(step.files.optimizer(1));  // world_size 2 says there must be a rank 1 file
  EXPECT_FALSE(checkpoint_complete(step.files));
  check = check_checkpoint(step.files);
  EXPECT_EQ(check.status, CheckpointCheck::Status::damaged);
  EXPECT_NE(check.detail.find("optim_000100_rank1.safetensors is missing"), std::string::npos) << check.detail;
}

TEST(CheckpointFiles, NoMetaMeansNotComplete) {
  SavedStep step(1);
  fs::remove(step.files.meta());
  EXPECT_FALSE(checkpoint_complete(step.files));
  EXPECT_EQ(check_checkpoint(step.files).status, CheckpointCheck::Status::damaged);
}

}  // namespace
