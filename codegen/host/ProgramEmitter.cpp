//===- ProgramEmitter.cpp -------------------------------------------------===//
#include "codegen/host/ProgramEmitter.h"

#include "ds/runtime/ResidentPages.h"
#include "ds/runtime/Sha256.h"
#include "ds/runtime/Weights.h"

#include <cinttypes>
#include <map>
#include <cstdio>
#include <sstream>

namespace ds::codegen {

uint64_t WeightsImage::append(const rt::Tensor &t) {
  uint64_t offset = (size_ + rt::WeightsView::kAlignment - 1) / rt::WeightsView::kAlignment *
                    rt::WeightsView::kAlignment;
  parts_.emplace_back(offset, t);
  size_ = offset + t.byteSize();
  return offset;
}

void WeightsImage::forEachChunk(const std::function<void(const void *, size_t)> &sink) const {
  static const char kZeros[rt::WeightsView::kAlignment] = {};
  uint64_t at = 0;
  for (const auto &[offset, t] : parts_) {
    if (offset > at)
      sink(kZeros, static_cast<size_t>(offset - at));
    sink(t.rawData(), t.byteSize());
    rt::releaseResidentPages(t);
    at = offset + t.byteSize();
  }
}

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

/// The generated source is tables, not code: a 500-step model compiles in
/// about a second instead of twenty (a straight-line function of that size is
/// slow for the compiler at any -O level), and buildProgram is a short loop.
class Emitter {
public:
  Emitter(const std::vector<std::string> &names) : names_(names) {}

  EmittedProgram run(const rt::Program &program, const std::string &header) {
    std::vector<bool> isInput(program.numSlots(), false);
    for (int slot : program.inputSlots())
      isInput[static_cast<size_t>(slot)] = true;
    // Slots are numbered in creation order, so creating them 0..n-1 gives
    // every step the same slot numbers as in the compiler's program.
    size_t nextInput = 0;
    for (size_t slot = 0; slot < program.numSlots(); ++slot) {
      const rt::Tensor &c = program.constantAt(static_cast<int>(slot));
      if (isInput[slot]) {
        slotRows_ << "  {0, " << spec(program.inputs()[nextInput++]) << "},\n";
      } else if (!c.isAbsent()) {
        std::string name = slot < names_.size() && !names_[slot].empty() ? names_[slot]
                                                                          : "slot" + std::to_string(slot);
        slotRows_ << "  {1, " << tensor(c, name) << "}, // slot " << slot << "\n";
      } else {
        slotRows_ << "  {2, 0},\n";
      }
    }
    const auto &steps = program.steps();
    for (size_t i = 0; i < steps.size(); ++i) {
      const rt::ProgramStep &step = steps[i];
      size_t attrBegin = attrCount_;
      for (const auto &[name, value] : step.attrs.all())
        attr(name, value, i);
      size_t in = slotList(step.inputSlots), out = slotList(step.outputSlots);
      size_t specBegin = specCount_;
      for (const auto &rs : step.resultSpecs)
        specList_ << spec(rs) << ", ";
      specCount_ += step.resultSpecs.size();
      stepRows_ << "  {" << string(step.kernelName) << ", " << string(step.where) << ", " << in << ", "
                << step.inputSlots.size() << ", " << out << ", " << step.outputSlots.size() << ", "
                << specBegin << ", " << step.resultSpecs.size() << ", " << attrBegin << ", "
                << attrCount_ - attrBegin << "}, // " << i << "\n";
    }
    for (size_t i = 0; i < program.outputSlots().size(); ++i)
      outputRows_ << "  {" << program.outputSlots()[i] << ", " << spec(program.outputs()[i]) << "},\n";

    std::ostringstream tables;
    tables << "const int64_t kInts[] = {" << ints_.str() << "0};\n"
           << "const int32_t kSlotLists[] = {" << slots_.str() << "0};\n"
           << "const float kFloats[] = {" << floats_.str() << "0};\n"
           << "const char *const kStrings[] = {" << strings_.str() << "nullptr};\n"
           << "const uint32_t kStringSizes[] = {" << stringSizes_.str() << "0};\n"
           << "const SpecRow kSpecs[] = {\n" << specs_.str() << "  {0, 0, 0, 0, 0, 0, 0}};\n"
           << "const uint32_t kSpecLists[] = {" << specList_.str() << "0};\n"
           << "const TensorRow kTensors[] = {\n" << tensors_.str() << "  {0, 0, 0, 0}};\n"
           << "const AttrRow kAttrs[] = {\n" << attrs_.str() << "  {0, 0, 0, 0, 0, 0}};\n"
           << "const SlotRow kSlots[] = {\n" << slotRows_.str() << "  {2, 0}};\n"
           << "const StepRow kSteps[] = {\n" << stepRows_.str() << "  {0, 0, 0, 0, 0, 0, 0, 0, 0, 0}};\n"
           << "const OutputRow kOutputs[] = {\n" << outputRows_.str() << "  {0, 0}};\n"
           << "constexpr size_t kNumSlots = " << program.numSlots() << ", kNumSteps = " << steps.size()
           << ", kNumOutputs = " << program.outputSlots().size() << ";\n";
    std::string tableText = tables.str();

    // The digest covers what the library will do (the tables) and the bytes it reads.
    rt::Sha256 digest;
    digest.update(tableText.data(), tableText.size());
    out_.weights.forEachChunk([&](const void *data, size_t n) { digest.update(data, n); });
    out_.graphDigest = digest.hexDigest();

    std::ostringstream src;
    src << "// " << header << "\n"
        << "// Generated by ds-optimize: the model's kernel calls as tables, shapes baked in.\n"
        << "// Rebuild with src/CMakeLists.txt; do not edit.\n"
        << "#include \"ds/runtime/Generated.h\"\n\n#include <cstdint>\n#include <limits>\n"
        << "#include <string>\n#include <vector>\n\n"
        << "namespace ds::generated {\n\n"
        << "const char kGraphDigest[] = \"" << out_.graphDigest << "\";\n"
        << "const uint64_t kWeightsBytes = UINT64_C(" << out_.weights.size() << ");\n\n"
        << "namespace {\n" << kPreamble << tableText << kBuilder << "} // namespace\n\n"
        << "void buildProgram(rt::Program &p, const rt::WeightsView &w) { build(p, w); }\n\n"
        << "} // namespace ds::generated\n";
    out_.source = src.str();
    return std::move(out_);
  }

private:
  // Row layouts and the loop that turns the tables into a Program.
  static constexpr const char *kPreamble = R"(struct SpecRow { uint32_t name; int32_t dtype; uint32_t ranked, dims, rank, maxDims, maxRank; };
struct TensorRow { uint64_t offset; int32_t dtype; uint32_t dims, rank; };
// kind: 0 int, 1 float, 2 string, 3 ints, 4 floats, 5 strings, 6 tensor
struct AttrRow { uint32_t name, kind; int64_t i; float f; uint32_t begin, count; };
struct SlotRow { uint32_t kind, index; }; // kind: 0 input (spec), 1 constant (tensor), 2 result
struct StepRow { uint32_t kernel, where, in, nIn, out, nOut, spec, nSpec, attr, nAttr; };
struct OutputRow { int32_t slot; uint32_t spec; };
)";
  static constexpr const char *kBuilder = R"(
std::string str(uint32_t i) { return std::string(kStrings[i], kStringSizes[i]); }

std::vector<int64_t> dims(uint32_t begin, uint32_t count) {
  return std::vector<int64_t>(kInts + begin, kInts + begin + count);
}

rt::ValueSpec spec(uint32_t i) {
  const SpecRow &r = kSpecs[i];
  rt::ValueSpec s;
  s.name = str(r.name);
  s.dtype = static_cast<rt::DType>(r.dtype);
  s.ranked = r.ranked != 0;
  s.dims = dims(r.dims, r.rank);
  s.maxDims = dims(r.maxDims, r.maxRank);
  return s;
}

rt::Tensor tensor(const rt::WeightsView &w, uint32_t i) {
  const TensorRow &r = kTensors[i];
  return w.tensor(r.offset, static_cast<rt::DType>(r.dtype), dims(r.dims, r.rank));
}

rt::AttrValue attr(const rt::WeightsView &w, const AttrRow &a) {
  switch (a.kind) {
  case 0: return a.i;
  case 1: return a.f;
  case 2: return str(a.begin);
  case 3: return dims(a.begin, a.count);
  case 4: return std::vector<float>(kFloats + a.begin, kFloats + a.begin + a.count);
  case 5: {
    std::vector<std::string> list;
    for (uint32_t k = 0; k < a.count; ++k)
      list.push_back(str(static_cast<uint32_t>(kInts[a.begin + k])));
    return list;
  }
  default: return tensor(w, a.begin);
  }
}

void build(rt::Program &p, const rt::WeightsView &w) {
  for (size_t i = 0; i < kNumSlots; ++i) {
    const SlotRow &s = kSlots[i];
    if (s.kind == 0)
      p.addInput(spec(s.index));
    else if (s.kind == 1)
      p.addConstant(tensor(w, s.index));
    else
      p.newSlot();
  }
  for (size_t i = 0; i < kNumSteps; ++i) {
    const StepRow &r = kSteps[i];
    rt::ProgramStep s;
    s.kernelName = str(r.kernel);
    s.where = str(r.where);
    for (uint32_t k = 0; k < r.nAttr; ++k)
      s.attrs.set(str(kAttrs[r.attr + k].name), attr(w, kAttrs[r.attr + k]));
    s.inputSlots.assign(kSlotLists + r.in, kSlotLists + r.in + r.nIn);
    s.outputSlots.assign(kSlotLists + r.out, kSlotLists + r.out + r.nOut);
    for (uint32_t k = 0; k < r.nSpec; ++k)
      s.resultSpecs.push_back(spec(kSpecLists[r.spec + k]));
    p.addStep(std::move(s));
  }
  for (size_t i = 0; i < kNumOutputs; ++i)
    p.addOutput(kOutputs[i].slot, spec(kOutputs[i].spec));
  p.finalize();
}
)";

  /// Index of `s` in kStrings (deduplicated).
  size_t string(const std::string &s) {
    auto [it, inserted] = stringIndex_.emplace(s, stringIndex_.size());
    if (inserted) {
      strings_ << cppStringLiteral(s) << ", ";
      stringSizes_ << s.size() << ", ";
    }
    return it->second;
  }

  /// Appends to kInts; returns where the list starts.
  size_t intList(const std::vector<int64_t> &values) {
    size_t begin = intCount_;
    for (int64_t v : values)
      ints_ << int64Literal(v) << ", ";
    intCount_ += values.size();
    return begin;
  }

  /// Appends to kSlotLists; returns where the list starts.
  size_t slotList(const std::vector<int> &values) {
    size_t begin = slotCount_;
    for (int v : values)
      slots_ << v << ", ";
    slotCount_ += values.size();
    return begin;
  }

  size_t spec(const rt::ValueSpec &s) {
    size_t dims = intList(s.dims);
    size_t maxDims = s.maxDims.empty() ? 0 : intList(s.maxDims);
    specs_ << "  {" << string(s.name) << ", " << static_cast<int>(s.dtype) << ", " << (s.ranked ? 1 : 0)
           << ", " << dims << ", " << s.dims.size() << ", " << maxDims << ", " << s.maxDims.size()
           << "},\n";
    return specCountRows_++;
  }

  /// Appends `t` to weights.bin (64-byte aligned); returns its kTensors row.
  size_t tensor(const rt::Tensor &t, const std::string &name) {
    uint64_t offset = out_.weights.append(t);
    out_.entries.push_back({name, offset, t.byteSize(), t.dtype(), t.shape()});
    size_t dims = intList(t.shape());
    tensors_ << "  {UINT64_C(" << offset << "), " << static_cast<int>(t.dtype()) << ", " << dims << ", "
             << t.rank() << "}, // " << cppStringLiteral(name) << "\n";
    return tensorCount_++;
  }

  void attr(const std::string &name, const rt::AttrValue &value, size_t step) {
    size_t key = string(name);
    int kind = 0;
    std::string i = "0", f = "0.0f";
    size_t begin = 0, count = 0;
    if (auto *v = std::get_if<int64_t>(&value)) {
      i = int64Literal(*v);
    } else if (auto *v = std::get_if<float>(&value)) {
      kind = 1;
      f = floatLiteral(*v);
    } else if (auto *v = std::get_if<std::string>(&value)) {
      kind = 2;
      begin = string(*v);
    } else if (auto *v = std::get_if<std::vector<int64_t>>(&value)) {
      kind = 3;
      begin = intList(*v);
      count = v->size();
    } else if (auto *v = std::get_if<std::vector<float>>(&value)) {
      kind = 4;
      begin = floatCount_;
      for (float x : *v)
        floats_ << floatLiteral(x) << ", ";
      floatCount_ += v->size();
      count = v->size();
    } else if (auto *v = std::get_if<std::vector<std::string>>(&value)) {
      kind = 5;
      std::vector<int64_t> indices;
      for (const auto &x : *v)
        indices.push_back(static_cast<int64_t>(string(x)));
      begin = intList(indices);
      count = v->size();
    } else {
      kind = 6;
      begin = tensor(std::get<rt::Tensor>(value), "step" + std::to_string(step) + "." + name);
    }
    attrs_ << "  {" << key << ", " << kind << ", " << i << ", " << f << ", " << begin << ", " << count
           << "},\n";
    ++attrCount_;
  }

  const std::vector<std::string> &names_;
  EmittedProgram out_;
  std::map<std::string, size_t> stringIndex_;
  std::ostringstream ints_, slots_, floats_, strings_, stringSizes_, specs_, specList_, tensors_,
      attrs_, slotRows_, stepRows_, outputRows_;
  size_t intCount_ = 0, slotCount_ = 0, floatCount_ = 0, specCount_ = 0, specCountRows_ = 0,
         tensorCount_ = 0, attrCount_ = 0;
};

} // namespace

EmittedProgram emitProgram(const rt::Program &program, const std::vector<std::string> &constantNames,
                           const std::string &header) {
  return Emitter(constantNames).run(program, header);
}

} // namespace ds::codegen
