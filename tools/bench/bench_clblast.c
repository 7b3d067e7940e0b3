/* CLBlast parameter sets the tuner tries through CLBlastOverrideParameters: each
 * configuration sets all parameters of both GEMM kernels (Xgemm for the indirect path,
 * XgemmDirect for small products), so applying one fully decides CLBlast's GEMM and no
 * earlier trial leaks into the next. Every set satisfies CLBlast's constraints:
 *   Xgemm:       MWG % (MDIMC VWM) = MWG % (MDIMA VWM) = 0, NWG % (NDIMC VWN) =
 *                NWG % (NDIMB VWN) = 0, KWG % (MDIMC NDIMC / MDIMA) =
 *                KWG % (MDIMC NDIMC / NDIMB) = 0, KWG % KWI = 0 (GEMMK 0, KREG 1);
 *   XgemmDirect: WGD divisible likewise by MDIMCD VWMD, NDIMCD VWND, MDIMAD VWMD,
 *                NDIMBD VWND, MDIMCD NDIMCD / MDIMAD, MDIMCD NDIMCD / NDIMBD and KWID.
 * Sizes span CPU-like (small work-groups, wide vectors, no local memory) to GPU-like
 * (16 x 16 work-groups, local memory) kernels. */
#include <string.h>
#include "bench.h"

static const char *const xgemm_names[] = { "GEMMK", "KREG", "KWG", "KWI", "MDIMA", "MDIMC",
                                           "MWG", "NDIMB", "NDIMC", "NWG", "SA", "SB",
                                           "STRM", "STRN", "VWM", "VWN" };
static const char *const direct_names[] = { "KWID", "MDIMAD", "MDIMCD", "NDIMBD", "NDIMCD",
                                            "PADA", "PADB", "VWMD", "VWND", "WGD" };

/* In the order of the names above. */
static const size_t xgemm_sets[][16] = {
    /* GEMMK KREG KWG KWI MDIMA MDIMC MWG NDIMB NDIMC NWG SA SB STRM STRN VWM VWN */
    { 0, 1, 16, 2, 8, 8, 32, 8, 8, 32, 0, 0, 0, 0, 4, 4 },
    { 0, 1, 16, 1, 8, 8, 64, 8, 8, 64, 0, 0, 0, 0, 8, 8 },
    { 0, 1, 32, 2, 16, 16, 64, 16, 16, 64, 1, 1, 1, 1, 2, 2 },
    { 0, 1, 32, 2, 16, 16, 128, 16, 16, 128, 1, 1, 0, 0, 4, 8 },
};
static const size_t direct_sets[][10] = {
    /* KWID MDIMAD MDIMCD NDIMBD NDIMCD PADA PADB VWMD VWND WGD */
    { 2, 8, 8, 8, 8, 1, 1, 4, 4, 32 },
    { 1, 4, 4, 4, 4, 1, 1, 4, 4, 16 },
    { 2, 16, 16, 16, 16, 1, 1, 2, 2, 32 },
    { 2, 16, 16, 16, 16, 1, 1, 4, 4, 64 },
};

int bench_clblast_configs(void)
{
    return (int)(sizeof xgemm_sets / sizeof xgemm_sets[0]);
}

static void fill(cgan_clblast_params *ov, const char *kernel, const char *const *names,
                 const size_t *values, int n)
{
    memset(ov, 0, sizeof *ov);
    snprintf(ov->kernel, sizeof ov->kernel, "%s", kernel);
    ov->count = n;
    for (int i = 0; i < n; i++) {
        snprintf(ov->names[i], sizeof ov->names[i], "%s", names[i]);
        ov->values[i] = values[i];
    }
}

void bench_clblast_config(int i, cgan_clblast_params ov[2])
{
    fill(&ov[0], "Xgemm", xgemm_names, xgemm_sets[i], 16);
    fill(&ov[1], "XgemmDirect", direct_names, direct_sets[i], 10);
}

void bench_clblast_config_str(const cgan_clblast_params ov[2], char *out, size_t n)
{
    size_t used = 0;
    out[0] = '\0';
    for (int k = 0; k < 2; k++) {
        used += (size_t)snprintf(out + used, used < n ? n - used : 0, "%s%s", k ? " | " : "",
                                 ov[k].kernel);
        for (int i = 0; i < ov[k].count && used < n; i++)
            used += (size_t)snprintf(out + used, n - used, " %s=%zu", ov[k].names[i],
                                     ov[k].values[i]);
    }
}
