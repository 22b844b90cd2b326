//===- ProgramEmitter.cpp -------------------------------------------------===//
#include "codegen/host/ProgramEmitter.h"

#include "ds/runtime/Sha256.h"
#include "ds/runtime/Weights.h"

#include <cinttypes>
#include <cstdio>
#include <sstream>

namespace ds::codegen {

std::string cppStringLiteral(const std::string &bytes) {
  std::string out = "\"";
  for (unsigned char c : bytes) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f && c != '?') { // '?' would start a trigraph
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\%03o", c);
      out += buf;
    }
  }
  return out + "\"";
}

namespace {

/// Exact float literal: hex-float keeps every bit (and the text deterministic).
std::string floatLiteral(float v) {
  if (v != v)
    return "std::numeric_limits<float>::quiet_NaN()";
  if (v == std::numeric_limits<float>::infinity())
    return "std::numeric_limits<float>::infinity()";
  if (v == -std::numeric_limits<float>::infinity())
    return "-std::numeric_limits<float>::infinity()";
  char buf[48];
  std::snprintf(buf, sizeof buf, "%af", static_cast<double>(v));
  return buf;
}

std::string int64Literal(int64_t v) {
  // INT64_MIN has no literal of its own.
  if (v == INT64_MIN)
    return "INT64_MIN";
  return "INT64_C(" + std::to_string(v) + ")";
}

template <typename T, typename F> std::string listLiteral(const std::vector<T> &values, F literal) {
  std::string s = "{";
  for (size_t i = 0; i < values.size(); ++i)
    s += (i ? ", " : "") + literal(values[i]);
  return s + "}";
}

std::string dtypeLiteral(rt::DType dtype) {
  return "static_cast<rt::DType>(" + std::to_string(static_cast<int>(dtype)) + ")";
}

std::string specLiteral(const rt::ValueSpec &spec) {
  return "spec(" + cppStringLiteral(spec.name) + ", " + dtypeLiteral(spec.dtype) + ", " +
         (spec.ranked ? "true" : "false") + ", " + listLiteral(spec.dims, int64Literal) + ")";
}

class Emitter {
public:
  Emitter(const std::vector<std::string> &names) : names_(names) {}

  /// Appends `t` to weights.bin (64-byte aligned) and returns the C++ expression
  /// that borrows it back.
  std::string placeTensor(const rt::Tensor &t, const std::string &name) {
    uint64_t offset = (out_.weights.size() + rt::WeightsView::kAlignment - 1) /
                      rt::WeightsView::kAlignment * rt::WeightsView::kAlignment;
    out_.weights.resize(offset, 0);
    const auto *bytes = static_cast<const uint8_t *>(t.rawData());
    out_.weights.insert(out_.weights.end(), bytes, bytes + t.byteSize());
    out_.entries.push_back({name, offset, t.byteSize(), t.dtype(), t.shape()});
    return "w.tensor(UINT64_C(" + std::to_string(offset) + "), " + dtypeLiteral(t.dtype()) +
           ", " + listLiteral(t.shape(), int64Literal) + ")";
  }

  std::string attrStatement(const std::string &name, const rt::AttrValue &value, size_t step) {
    std::string key = cppStringLiteral(name);
    std::string v;
    if (auto *i = std::get_if<int64_t>(&value))
      v = "rt::AttrValue(" + int64Literal(*i) + ")";
    else if (auto *f = std::get_if<float>(&value))
      v = "rt::AttrValue(" + floatLiteral(*f) + ")";
    else if (auto *s = std::get_if<std::string>(&value))
      v = "rt::AttrValue(std::string(" + cppStringLiteral(*s) + ", " + std::to_string(s->size()) + "))";
    else if (auto *is = std::get_if<std::vector<int64_t>>(&value))
      v = "rt::AttrValue(std::vector<int64_t>" + listLiteral(*is, int64Literal) + ")";
    else if (auto *fs = std::get_if<std::vector<float>>(&value))
      v = "rt::AttrValue(std::vector<float>" + listLiteral(*fs, floatLiteral) + ")";
    else if (auto *ss = std::get_if<std::vector<std::string>>(&value))
      v = "rt::AttrValue(std::vector<std::string>" +
          listLiteral(*ss, [](const std::string &x) {
            return "std::string(" + cppStringLiteral(x) + ", " + std::to_string(x.size()) + ")";
          }) + ")";
    else
      v = "rt::AttrValue(" +
          placeTensor(std::get<rt::Tensor>(value), "step" + std::to_string(step) + "." + name) + ")";
    return "    s.attrs.set(" + key + ", " + v + ");\n";
  }

  EmittedProgram run(const rt::Program &program, const std::string &header) {
    std::ostringstream body;
    std::vector<bool> isInput(program.numSlots(), false);
    for (int slot : program.inputSlots())
      isInput[static_cast<size_t>(slot)] = true;
    // Slots are numbered in creation order, so creating them 0..n-1 here gives
    // every step the same slot numbers as in the compiler's program.
    size_t nextInput = 0;
    for (size_t slot = 0; slot < program.numSlots(); ++slot) {
      const rt::Tensor &c = program.constantAt(static_cast<int>(slot));
      if (isInput[slot]) {
        body << "  p.addInput(" << specLiteral(program.inputs()[nextInput++]) << ");\n";
      } else if (!c.isAbsent()) {
        std::string name = slot < names_.size() && !names_[slot].empty() ? names_[slot]
                                                                          : "slot" + std::to_string(slot);
        body << "  p.addConstant(" << placeTensor(c, name) << "); // " << slot << " "
             << cppStringLiteral(name) << "\n";
      } else {
        body << "  p.newSlot();\n";
      }
    }
    const auto &steps = program.steps();
    for (size_t i = 0; i < steps.size(); ++i) {
      const rt::ProgramStep &step = steps[i];
      body << "  { // step " << i << "\n    rt::ProgramStep s;\n"
           << "    s.kernelName = " << cppStringLiteral(step.kernelName) << ";\n"
           << "    s.where = " << cppStringLiteral(step.where) << ";\n";
      for (const auto &[name, value] : step.attrs.all())
        body << attrStatement(name, value, i);
      body << "    s.inputSlots = " << listLiteral(step.inputSlots, [](int v) { return std::to_string(v); })
           << ";\n    s.outputSlots = "
           << listLiteral(step.outputSlots, [](int v) { return std::to_string(v); }) << ";\n";
      for (const rt::ValueSpec &spec : step.resultSpecs)
        body << "    s.resultSpecs.push_back(" << specLiteral(spec) << ");\n";
      body << "    p.addStep(std::move(s));\n  }\n";
    }
    for (size_t i = 0; i < program.outputSlots().size(); ++i)
      body << "  p.addOutput(" << program.outputSlots()[i] << ", " << specLiteral(program.outputs()[i])
           << ");\n";
    body << "  p.finalize();\n";

    // The digest covers what the library will do (the body) and the bytes it reads.
    rt::Sha256 digest;
    std::string bodyText = body.str();
    digest.update(bodyText.data(), bodyText.size());
    digest.update(out_.weights.data(), out_.weights.size());
    out_.graphDigest = digest.hexDigest();

    std::ostringstream src;
    src << "// " << header << "\n"
        << "// Generated by ds-optimize: the model's kernel calls with shapes baked in.\n"
        << "// Rebuild with src/CMakeLists.txt; do not edit.\n"
        << "#include \"ds/runtime/Generated.h\"\n\n#include <cstdint>\n#include <limits>\n"
        << "#include <string>\n#include <vector>\n\n"
        << "namespace ds::generated {\n\n"
        << "const char kGraphDigest[] = \"" << out_.graphDigest << "\";\n"
        << "const uint64_t kWeightsBytes = UINT64_C(" << out_.weights.size() << ");\n\n"
        << "namespace {\nrt::ValueSpec spec(const char *name, rt::DType dtype, bool ranked,\n"
        << "                   std::vector<int64_t> dims) {\n"
        << "  rt::ValueSpec s;\n  s.name = name;\n  s.dtype = dtype;\n  s.ranked = ranked;\n"
        << "  s.dims = std::move(dims);\n  return s;\n}\n} // namespace\n\n"
        << "void buildProgram(rt::Program &p, const rt::WeightsView &w) {\n"
        << bodyText << "}\n\n} // namespace ds::generated\n";
    out_.source = src.str();
    return std::move(out_);
  }

private:
  const std::vector<std::string> &names_;
  EmittedProgram out_;
};

} // namespace

EmittedProgram emitProgram(const rt::Program &program, const std::vector<std::string> &constantNames,
                           const std::string &header) {
  return Emitter(constantNames).run(program, header);
}

} // namespace ds::codegen
