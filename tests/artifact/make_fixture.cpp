//===- make_fixture.cpp - writes weights.bin + manifest.json of the fixture -===//
//
//   ds-artifact-fixture-gen ARTIFACT_DIR
//
// Plays the compiler's packaging step (DESIGN §2 phase 8) for fixture_model.cpp:
// weights.bin with each constant 64-byte aligned, then manifest.json written
// last and atomically (temp file + rename), with the SHA-256 of weights.bin
// and of the already-linked lib/libds_model.so. Weights are multiples of 1/4
// so the test's naive float computation is exact.
//===----------------------------------------------------------------------===//
#include "ds/runtime/Sha256.h"
#include "ds/runtime/Weights.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

void writeFile(const fs::path &path, const std::string &bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out)
    throw std::runtime_error(path.string() + ": write failed");
}

std::string sha256OfFile(const fs::path &path) {
  auto view = ds::rt::WeightsView::open(path.string()); // any file maps the same way
  return ds::rt::Sha256::hexOf(view.data(), static_cast<size_t>(view.size()));
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: ds-artifact-fixture-gen ARTIFACT_DIR\n");
    return 2;
  }
  try {
    fs::path dir = argv[1];
    std::string weights(128, '\0');
    std::vector<float> w(12), b = {0.5f, -1.0f, 0.25f};
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 3; ++j)
        w[i * 3 + j] = static_cast<float>(i * 3 + j - 5) * 0.25f;
    std::memcpy(weights.data(), w.data(), 48);
    std::memcpy(weights.data() + 64, b.data(), 12);
    writeFile(dir / "weights.bin", weights);

    nlohmann::ordered_json m;
    m["format"] = "ds-artifact";
    m["version"] = 1;
    m["tool"] = {{"name", "ds-optimize"}, {"version", "0.1.0"}};
    m["profile"] = "host";
    m["precision"] = "fp32";
    m["graph_digest"] = "5f1c2b7e0d9a4c3b8e7f6a5d4c3b2a19";
    m["inputs"] = {{{"name", "x"}, {"dtype", "float"}, {"shape", {-1, 4}}}};
    m["outputs"] = {{{"name", "y"}, {"dtype", "float"}, {"shape", {-1, 3}}},
                    {{"name", "x_echo"}, {"dtype", "float"}, {"shape", {-1, 4}}}};
    m["weights"] = {
        {"file", "weights.bin"},
        {"bytes", weights.size()},
        {"sha256", ds::rt::Sha256::hexOf(weights.data(), weights.size())},
        {"alignment", 64},
        {"tensors",
         {{{"name", "W"}, {"offset", 0}, {"bytes", 48}, {"dtype", "float"}, {"shape", {4, 3}}},
          {{"name", "b"}, {"offset", 64}, {"bytes", 12}, {"dtype", "float"}, {"shape", {3}}}}}};
    m["library"] = {{"file", "lib/libds_model.so"},
                    {"sha256", sha256OfFile(dir / "lib" / "libds_model.so")}};
    m["runner"] = {{"file", "bin/ds-model-run"}};
    m["layers"] = {{{"node", "mm0"}, {"op", "matmul"}, {"precision", "fp32"}},
                   {{"node", "add0"}, {"op", "add"}, {"precision", "fp32"}},
                   {{"node", "relu0"}, {"op", "relu"}, {"precision", "fp32"}},
                   {{"node", "id0"}, {"op", "identity"}, {"precision", "fp32"}}};
    writeFile(dir / "manifest.json.tmp", m.dump(2) + "\n");
    fs::rename(dir / "manifest.json.tmp", dir / "manifest.json");
    return 0;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "ds-artifact-fixture-gen: error: %s\n", e.what());
    return 2;
  }
}
