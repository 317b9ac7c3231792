#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "s2s/core/checkpoint.hpp"

using namespace s2s;

namespace {

std::string temp_path(const std::string& name) {
  return std::string("/tmp/s2s_test_ckpt_") + std::to_string(::getpid()) + "_" + name;
}

Checkpoint sample_checkpoint() {
  Checkpoint c;
  c.tensors["encoder.weight"] = TensorRecord{2, 3, {1, 2, 3, 4, 5, 6}};
  c.texts["config"] = "[model]\ncell=gru\n";
  c.scalars["step"] = 42;
  return c;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_all(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

}  // namespace

TEST_CASE("Checkpoint save then load gives the same contents", "[checkpoint]") {
  const std::string path = temp_path("roundtrip");
  save_checkpoint(path, sample_checkpoint());
  const Checkpoint loaded = load_checkpoint(path);
  CHECK(loaded.tensor("encoder.weight").rows == 2);
  CHECK(loaded.tensor("encoder.weight").data == std::vector<float>{1, 2, 3, 4, 5, 6});
  CHECK(loaded.text("config") == "[model]\ncell=gru\n");
  CHECK(loaded.scalar("step") == 42);
  CHECK_FALSE(loaded.library_version.empty());
  CHECK_THROWS_WITH(loaded.scalar("epoch"), Catch::Contains("no value 'epoch'"));
  std::remove(path.c_str());
}

TEST_CASE("Checkpoint refuses missing, foreign, truncated and corrupt files", "[checkpoint]") {
  const std::string path = temp_path("damaged");
  save_checkpoint(path, sample_checkpoint());
  const std::string good = read_all(path);

  CHECK_THROWS_WITH(load_checkpoint(path + ".absent"), Catch::Contains("cannot open"));

  write_all(path, "hello, I am not a checkpoint at all");
  CHECK_THROWS_WITH(load_checkpoint(path), Catch::Contains("not an s2s checkpoint"));

  write_all(path, good.substr(0, good.size() - 5));
  CHECK_THROWS_WITH(load_checkpoint(path), Catch::Contains("truncated"));

  std::string flipped = good;
  flipped[flipped.size() - 3] ^= 0x40;
  write_all(path, flipped);
  CHECK_THROWS_WITH(load_checkpoint(path), Catch::Contains("corrupt"));

  std::string other_format = good;
  other_format[8] = 99;
  write_all(path, other_format);
  CHECK_THROWS_WITH(load_checkpoint(path), Catch::Contains("format 99"));
  std::remove(path.c_str());
}
