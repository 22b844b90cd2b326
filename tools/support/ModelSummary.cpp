//===- ModelSummary.cpp ---------------------------------------------------===//
#include "tools/support/ModelSummary.h"

#include "dialects/ds/DsDialect.h"
#include "executor/ReferenceExecutor.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include "llvm/Support/Format.h"

#include <map>

using namespace mlir;

namespace ds::tools {

namespace {
std::string typeString(Type t) {
  std::string s;
  llvm::raw_string_ostream os(s);
  t.print(os);
  return s;
}
} // namespace

void printModelSummary(ModuleOp module, llvm::raw_ostream &os) {
  auto func = module.lookupSymbol<func::FuncOp>("main");
  if (!func)
    return;
  auto name = [](DictionaryAttr attrs) {
    auto n = attrs ? attrs.getAs<StringAttr>("ds.name") : StringAttr();
    return n ? n.str() : std::string("?");
  };
  if (auto source = module->getAttrOfType<StringAttr>("ds.source"))
    os << "model: " << source.getValue();
  if (auto opset = module->getAttrOfType<IntegerAttr>("ds.opset"))
    os << " (opset " << opset.getInt() << ")";
  os << "\n";
  for (unsigned i = 0; i < func.getNumArguments(); ++i)
    os << "  input  " << name(func.getArgAttrDict(i)) << ": "
       << typeString(func.getArgument(i).getType()) << "\n";
  for (unsigned i = 0; i < func.getNumResults(); ++i)
    os << "  output " << name(func.getResultAttrDict(i)) << ": "
       << typeString(func.getResultTypes()[i]) << "\n";

  std::map<std::string, int> histogram;
  int64_t params = 0, paramBytes = 0, ops = 0;
  func.walk([&](Operation *op) {
    if (auto constant = dyn_cast<ds::ConstantOp>(op)) {
      auto type = cast<ShapedType>(constant.getValue().getType());
      params += type.getNumElements();
      paramBytes += type.getNumElements() *
                    static_cast<int64_t>(rt::dtypeSize(exec::dtypeFromMlir(type.getElementType())));
      return;
    }
    if (op->getDialect() && op->getDialect()->getNamespace() == "ds" && !isa<ds::NoneOp>(op)) {
      ++histogram[op->getName().getStringRef().str()];
      ++ops;
    }
  });
  os << "  " << ops << " ops, " << params << " parameters ("
     << llvm::format("%.2f", static_cast<double>(paramBytes) / (1024.0 * 1024.0)) << " MiB)\n";
  os << "  ops:";
  for (auto &[op, count] : histogram)
    os << " " << op << " x" << count;
  os << "\n";
}

} // namespace ds::tools
