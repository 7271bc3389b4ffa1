// Atomic file and folder writes: the target holds the old or the new version, never a mix,
// even when the writer fails, gives up, or is killed mid-write.
#include "nanochat/atomic_file.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include "nanochat/error.hpp"

namespace fs = std::filesystem;
using nanochat::AtomicFileWriter;
using nanochat::Error;

namespace {

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

// Sorted names in `dir`, so a leftover temp file or folder shows up in the comparison.
std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> tree(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    names.push_back(fs::relative(entry.path(), dir).string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

class AtomicFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = ::testing::TempDir() + "atomic_file_XXXXXX";
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
};

using Names = std::vector<std::string>;

TEST_F(AtomicFileTest, WritesNewFile) {
  fs::path target = dir_ / "out.txt";
  nanochat::atomic_write_file(target, "hello\n");
  EXPECT_EQ(read_text(target), "hello\n");
  EXPECT_EQ(entries(dir_), Names{"out.txt"});
}

TEST_F(AtomicFileTest, ReplacesExistingFile) {
  fs::path target = dir_ / "out.txt";
  write_text(target, "a much longer old version\n");
  nanochat::atomic_write_file(target, "new\n");
  EXPECT_EQ(read_text(target), "new\n");
  nanochat::atomic_write_file(target, "");
  EXPECT_EQ(read_text(target), "");
  EXPECT_EQ(entries(dir_), Names{"out.txt"});
}

TEST_F(AtomicFileTest, StreamsIntoHiddenTempBesideTarget) {
  fs::path target = dir_ / "model.bin";
  AtomicFileWriter writer(target);
  EXPECT_EQ(writer.temp_path().parent_path(), dir_);
  EXPECT_EQ(writer.temp_path().filename().string().rfind(".model.bin.tmp." + std::to_string(::getpid()) + ".", 0), 0u)
      << writer.temp_path();
  writer.write("part one, ");
  writer.write(std::string(100000, 'x'));
  EXPECT_TRUE(fs::exists(writer.temp_path()));
  EXPECT_FALSE(fs::exists(target)) << "the target must not appear before commit()";
  writer.commit();
  EXPECT_EQ(read_text(target), "part one, " + std::string(100000, 'x'));
  EXPECT_EQ(entries(dir_), Names{"model.bin"});
}

TEST_F(AtomicFileTest, UncommittedWriterLeavesOldFileAndNoTemp) {
  fs::path target = dir_ / "state.json";
  write_text(target, "old");
  {
    AtomicFileWriter writer(target);
    writer.write("new and unfinished");
  }
  EXPECT_EQ(read_text(target), "old");
  EXPECT_EQ(entries(dir_), Names{"state.json"});
}

TEST_F(AtomicFileTest, MisuseThrows) {
  AtomicFileWriter writer(dir_ / "once.txt");
  writer.commit();
  EXPECT_THROW(writer.write("late"), Error);
  EXPECT_THROW(writer.commit(), Error);
}

TEST_F(AtomicFileTest, MissingFolderErrorNamesThePath) {
  try {
    nanochat::atomic_write_file(dir_ / "no_such_folder" / "x.txt", "x");
    ADD_FAILURE() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no_such_folder"), std::string::npos) << e.what();
  }
  EXPECT_THROW(nanochat::fsync_dir(dir_ / "no_such_folder"), Error);
}

TEST_F(AtomicFileTest, FailedRenameLeavesNoTemp) {
  fs::path target = dir_ / "occupied";
  fs::create_directories(target / "child");  // rename() cannot put a file over a folder
  EXPECT_THROW(nanochat::atomic_write_file(target, "x"), Error);
  EXPECT_EQ(entries(dir_), Names{"occupied"});
}

// Required: a writer killed with SIGKILL halfway through must leave the old file intact.
TEST_F(AtomicFileTest, WriterKilledMidwayLeavesOldFile) {
  fs::path target = dir_ / "checkpoint.bin";
  write_text(target, "old checkpoint\n");
  constexpr size_t kChunk = 1 << 20;
  constexpr int kChunks = 16;

  int ready[2];  // child -> parent: the temp path, once half the payload is written
  int hold[2];   // never written: the child blocks on it until it is killed
  ASSERT_EQ(::pipe(ready), 0);
  ASSERT_EQ(::pipe(hold), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(ready[0]);
    ::close(hold[1]);
    try {
      AtomicFileWriter writer(target);
      std::string chunk(kChunk, 'n');
      for (int i = 0; i < kChunks / 2; ++i) writer.write(chunk);
      std::string temp = writer.temp_path().string();
      if (::write(ready[1], temp.data(), temp.size()) != static_cast<ssize_t>(temp.size())) _exit(3);
      ::close(ready[1]);
      char byte;
      if (::read(hold[0], &byte, 1) < 0) _exit(4);
      for (int i = kChunks / 2; i < kChunks; ++i) writer.write(chunk);
      writer.commit();
    } catch (...) {
      _exit(2);
    }
    _exit(0);
  }
  ::close(ready[1]);
  ::close(hold[0]);

  std::string temp;
  char buffer[4096];
  ssize_t got;
  while ((got = ::read(ready[0], buffer, sizeof(buffer))) > 0) temp.append(buffer, got);
  ::close(ready[0]);
  bool child_reported = !temp.empty();
  if (child_reported) {
    EXPECT_EQ(fs::file_size(temp), kChunk * kChunks / 2) << "the child should be midway";
    EXPECT_EQ(read_text(target), "old checkpoint\n");
  }

  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ::close(hold[1]);
  ASSERT_TRUE(child_reported) << "the child failed before writing half the payload";
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGKILL);

  EXPECT_EQ(read_text(target), "old checkpoint\n");
  // SIGKILL skips all cleanup, so the partial temp file stays; it is hidden and ignored.
  EXPECT_TRUE(fs::exists(temp));
  EXPECT_EQ(entries(dir_), (Names{fs::path(temp).filename().string(), "checkpoint.bin"}));

  // The clean-up removes the dead writer's temp, never that of a writer still running.
  AtomicFileWriter live(dir_ / "other.bin");
  nanochat::remove_abandoned_temps(dir_);
  EXPECT_EQ(entries(dir_), (Names{live.temp_path().filename().string(), "checkpoint.bin"}));
}

TEST_F(AtomicFileTest, WriteDirCreatesFolder) {
  fs::path target = dir_ / "ckpt";
  nanochat::atomic_write_dir(target, [](const fs::path& temp) {
    EXPECT_TRUE(fs::is_empty(temp));
    write_text(temp / "model.safetensors", "weights");
    fs::create_directory(temp / "sub");
    write_text(temp / "sub" / "meta.json", "{}");
  });
  EXPECT_EQ(tree(target), (Names{"model.safetensors", "sub", "sub/meta.json"}));
  EXPECT_EQ(read_text(target / "sub" / "meta.json"), "{}");
  EXPECT_EQ(entries(dir_), Names{"ckpt"});
}

TEST_F(AtomicFileTest, WriteDirReplacesFolder) {
  fs::path target = dir_ / "ckpt";
  fs::create_directories(target / "old_sub");
  write_text(target / "old.txt", "old");
  write_text(target / "old_sub" / "deep.txt", "deep");
  nanochat::atomic_write_dir(target, [](const fs::path& temp) {
    write_text(temp / "new.txt", "new");
  });
  EXPECT_EQ(tree(target), Names{"new.txt"});
  EXPECT_EQ(read_text(target / "new.txt"), "new");
  EXPECT_EQ(entries(dir_), Names{"ckpt"}) << "the old folder must be removed";
}

TEST_F(AtomicFileTest, WriteDirFillThatThrowsLeavesOldFolder) {
  fs::path target = dir_ / "ckpt";
  fs::create_directory(target);
  write_text(target / "old.txt", "old");
  EXPECT_THROW(nanochat::atomic_write_dir(target,
                                          [](const fs::path& temp) {
                                            write_text(temp / "half.txt", "half");
                                            fs::create_directory(temp / "sub");
                                            throw std::runtime_error("disk full");
                                          }),
               std::runtime_error);
  EXPECT_EQ(tree(target), Names{"old.txt"});
  EXPECT_EQ(read_text(target / "old.txt"), "old");
  EXPECT_EQ(entries(dir_), Names{"ckpt"}) << "the temp folder must be removed";
}

TEST_F(AtomicFileTest, WriteDirFillThatThrowsCreatesNothing) {
  fs::path target = dir_ / "ckpt";
  EXPECT_THROW(nanochat::atomic_write_dir(
                   target, [](const fs::path&) { throw Error("tokenizer not trained"); }),
               Error);
  EXPECT_TRUE(fs::is_empty(dir_));
}

}  // namespace
