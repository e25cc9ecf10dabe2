// A downstream program: uses the installed headers and the exported tailor::eigen target.
#include <tailor/tailor.hpp>

#include <cmath>
#include <cstdio>

int main()
{
    float logits[6] = {1.f, 2.f, 3.f, 0.f, 0.f, 0.f};
    float probs[6];
    tailor::eigen::backend be;
    be.softmax_rows<float>(tailor::make_view(logits, 2, 3), tailor::make_view(probs, 2, 3));
    const float expected = 1.f / 3.f;
    if (std::fabs(probs[4] - expected) > 1e-6f || std::fabs(probs[0] + probs[1] + probs[2] - 1.f) > 1e-6f) {
        std::printf("unexpected softmax %g %g\n", probs[4], probs[0] + probs[1] + probs[2]);
        return 1;
    }
    std::printf("consumer ok (tailor %d.%d.%d)\n", TAILOR_VERSION_MAJOR, TAILOR_VERSION_MINOR, TAILOR_VERSION_PATCH);
    return 0;
}
