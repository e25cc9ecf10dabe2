// safetensors: write two tensors and a metadata entry, then map the file back, list what it
// holds, load one tensor with a conversion (F16 -> float) and read another without a copy.
#include <tailor/io/safetensors.hpp>

#include <cstdio>
#include <filesystem>

int main()
{
    const auto path = std::filesystem::temp_directory_path() / "tailor_example.safetensors";
    tailor::matrix<float> weight({2, 3});
    for (tailor::index_t k = 0; k < weight.size(); ++k) weight.data()[k] = 0.1f * float(k) - 0.25f;
    tailor::vector<float> bias({3});
    bias(0) = 1.f / 3.f;

    tailor::io::safetensors_writer writer;
    writer.add("head.weight", weight.view());                                  // F32
    writer.add("head.bias", bias.view(), tailor::io::dtype::float16);          // stored as F16
    writer.set_metadata("format", "pt");
    writer.write(path);
    std::printf("wrote %s (%lld bytes)\n", path.string().c_str(), static_cast<long long>(std::filesystem::file_size(path)));

    const tailor::io::safetensors_file file(path);  // mapped read-only, header validated
    for (const auto& name : file.names()) {
        const auto& info = file.info(name);
        std::printf("  %-12s %s [", name.c_str(), std::string(tailor::io::dtype_name(info.type)).c_str());
        for (std::size_t d = 0; d < info.shape.size(); ++d) std::printf("%s%lld", d ? ", " : "", static_cast<long long>(info.shape[d]));
        std::printf("]  bytes [%zu, %zu)\n", info.begin, info.end);
    }
    std::printf("  metadata format = %s\n", file.metadata().at("format").c_str());

    const auto loaded_bias = file.load<float, 1>("head.bias");           // F16 -> float
    const auto mapped = file.view<const float, 2>("head.weight");         // zero-copy view into the mapping
    std::printf("bias[0]: wrote %.8f, read back %.8f (half precision)\n", bias(0), loaded_bias(0));
    std::printf("weight(1, 2): wrote %.6f, read back %.6f (exact)\n", weight(1, 2), mapped(1, 2));
    std::filesystem::remove(path);
    return 0;
}
