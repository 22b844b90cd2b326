//===- fixture_model.cpp - a hand-written stand-in for generated model.cpp -===//
//
// What ds-optimize's code generator writes into OUT/host/src/model.cpp, for a
// tiny graph, so the runtime's C API and runner are tested without the
// compiler: y = relu(x @ W + b) and x_echo = identity(x) (an output that
// shares its input's storage, which the C API must copy).
//
// Weights layout (written by make_fixture.cpp, which must agree):
//   W float [4, 3] at offset 0, b float [3] at offset 64; 128 bytes in all.
//
//===----------------------------------------------------------------------===//
#include "ds/runtime/Generated.h"

namespace ds::generated {

const char kGraphDigest[] = "5f1c2b7e0d9a4c3b8e7f6a5d4c3b2a19";
const uint64_t kWeightsBytes = 128;

void buildProgram(rt::Program &program, const rt::WeightsView &weights) {
  using rt::DType;
  int x = program.addInput({"x", DType::F32, true, {-1, 4}});
  int w = program.addConstant(weights.tensor(0, DType::F32, {4, 3}));
  int b = program.addConstant(weights.tensor(64, DType::F32, {3}));

  rt::ProgramStep mm{"matmul", "node 'mm0' (ds.matmul)", {}, {x, w}, {},
                     {{"h", DType::F32, true, {-1, 3}}}};
  program.addStep(mm);
  int h = program.steps().back().outputSlots[0];
  rt::ProgramStep add{"add", "node 'add0' (ds.add)", {}, {h, b}, {},
                      {{"hb", DType::F32, true, {-1, 3}}}};
  program.addStep(add);
  int hb = program.steps().back().outputSlots[0];
  rt::ProgramStep relu{"relu", "node 'relu0' (ds.relu)", {}, {hb}, {},
                       {{"y", DType::F32, true, {-1, 3}}}};
  program.addStep(relu);
  int y = program.steps().back().outputSlots[0];
  rt::ProgramStep echo{"identity", "node 'id0' (ds.identity)", {}, {x}, {},
                       {{"x_echo", DType::F32, true, {-1, 4}}}};
  program.addStep(echo);
  int xEcho = program.steps().back().outputSlots[0];

  program.addOutput(y, {"y", DType::F32, true, {-1, 3}});
  program.addOutput(xEcho, {"x_echo", DType::F32, true, {-1, 4}});
  program.finalize();
}

} // namespace ds::generated
