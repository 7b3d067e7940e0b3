/* FID, KID and precision/recall on feature sets (cgan/eval.h), in double precision on the
 * host. The symmetric eigendecompositions of FID are LAPACK's (dsyevd): a well-kept
 * library rather than an eigensolver of our own. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "eval/eval_impl.h"
#include "runtime/runtime.h"

/* LAPACK (Fortran calling convention): eigenvalues (and vectors, jobz = 'V') of a
 * symmetric matrix, divide and conquer. */
extern void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
                    double *work, const int *lwork, int *iwork, const int *liwork, int *info);

/* Eigenvalues w (ascending) and, when vectors, the eigenvectors in the columns of a
 * (column-major, d x d; symmetric input, so the layout of the input does not matter). */
static cgan_status sym_eig(cgan_ctx *ctx, double *a, int d, double *w, int vectors)
{
    const char jobz = vectors ? 'V' : 'N', uplo = 'L';
    int lwork = -1, liwork = -1, info = 0, iq = 0;
    double wq = 0;
    dsyevd_(&jobz, &uplo, &d, a, &d, w, &wq, &lwork, &iq, &liwork, &info);
    if (info != 0) return cgan_error(ctx, CGAN_E_NUMERIC, "FID: LAPACK dsyevd workspace query failed (info %d)", info);
    lwork = (int)wq + 1;
    liwork = iq + 1;
    double *work = malloc((size_t)lwork * sizeof *work);
    int *iwork = malloc((size_t)liwork * sizeof *iwork);
    if (!work || !iwork) {
        free(work);
        free(iwork);
        return cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
    }
    dsyevd_(&jobz, &uplo, &d, a, &d, w, work, &lwork, iwork, &liwork, &info);
    free(work);
    free(iwork);
    if (info != 0)
        return cgan_error(ctx, CGAN_E_NUMERIC, "FID: LAPACK dsyevd did not converge (info %d, %d x %d)", info, d, d);
    return CGAN_OK;
}

/* Mean [d] and covariance [d x d] (divided by n - 1) of x [n, d]; c is scratch of d. */
static void mean_cov(const float *x, int n, int d, double *mu, double *cov, double *c)
{
    memset(mu, 0, (size_t)d * sizeof *mu);
    memset(cov, 0, (size_t)d * d * sizeof *cov);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++) mu[j] += x[(size_t)i * d + j];
    for (int j = 0; j < d; j++) mu[j] /= n;
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < d; j++) c[j] = x[(size_t)i * d + j] - mu[j];
        for (int j = 0; j < d; j++) {
            double cj = c[j];
            double *row = cov + (size_t)j * d;
            for (int k = 0; k <= j; k++) row[k] += cj * c[k];
        }
    }
    for (int j = 0; j < d; j++)
        for (int k = 0; k <= j; k++) {
            cov[(size_t)j * d + k] /= (n - 1);
            cov[(size_t)k * d + j] = cov[(size_t)j * d + k];
        }
}

/* c = a * b, all d x d. */
static void matmul(const double *a, const double *b, double *c, int d)
{
    memset(c, 0, (size_t)d * d * sizeof *c);
    for (int i = 0; i < d; i++)
        for (int k = 0; k < d; k++) {
            double aik = a[(size_t)i * d + k];
            const double *br = b + (size_t)k * d;
            double *cr = c + (size_t)i * d;
            for (int j = 0; j < d; j++) cr[j] += aik * br[j];
        }
}

cgan_status cgan_fid(cgan_ctx *ctx, const float *a, int na, const float *b, int nb, int d, double *fid)
{
    *fid = NAN;
    if (na < 2 || nb < 2 || d < 1)
        return cgan_error(ctx, CGAN_E_INVALID, "FID: %d and %d features of %d dimensions: at least 2 of each needed",
                          na, nb, d);
    const size_t dd = (size_t)d * d;
    double *mu1 = malloc((size_t)d * sizeof(double)), *mu2 = malloc((size_t)d * sizeof(double));
    double *s1 = malloc(dd * sizeof(double)), *s2 = malloc(dd * sizeof(double)), *w = malloc((size_t)d * sizeof(double));
    double *v = malloc(dd * sizeof(double)), *t = malloc(dd * sizeof(double)), *r = malloc(dd * sizeof(double));
    cgan_status st = CGAN_OK;
    if (!mu1 || !mu2 || !s1 || !s2 || !w || !v || !t || !r) {
        st = cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
        goto done;
    }
    mean_cov(a, na, d, mu1, s1, w); /* w: scratch until the eigenvalues */
    mean_cov(b, nb, d, mu2, s2, w);
    double diff = 0, tr1 = 0, tr2 = 0;
    for (int j = 0; j < d; j++) {
        diff += (mu1[j] - mu2[j]) * (mu1[j] - mu2[j]);
        tr1 += s1[(size_t)j * d + j];
        tr2 += s2[(size_t)j * d + j];
    }
    /* sqrt(S1) = V diag(sqrt(max(0, l))) V^T */
    memcpy(v, s1, dd * sizeof(double));
    if ((st = sym_eig(ctx, v, d, w, 1))) goto done;
    /* v is column-major: column k (eigenvector k) is v[k*d .. k*d+d) */
    for (int k = 0; k < d; k++) {
        double sk = sqrt(w[k] > 0 ? w[k] : 0);
        for (int i = 0; i < d; i++) t[(size_t)k * d + i] = v[(size_t)k * d + i] * sk;
    }
    /* r = sum_k sqrt(l_k) v_k v_k^T */
    memset(r, 0, dd * sizeof(double));
    for (int k = 0; k < d; k++) {
        const double *vk = v + (size_t)k * d, *tk = t + (size_t)k * d;
        for (int i = 0; i < d; i++) {
            double ti = tk[i];
            double *ri = r + (size_t)i * d;
            for (int j = 0; j < d; j++) ri[j] += ti * vk[j];
        }
    }
    /* M = sqrt(S1) S2 sqrt(S1), symmetrised against rounding */
    matmul(r, s2, t, d);
    matmul(t, r, v, d);
    for (int i = 0; i < d; i++)
        for (int j = 0; j < i; j++) {
            double m = 0.5 * (v[(size_t)i * d + j] + v[(size_t)j * d + i]);
            v[(size_t)i * d + j] = v[(size_t)j * d + i] = m;
        }
    if ((st = sym_eig(ctx, v, d, w, 0))) goto done;
    double trs = 0;
    for (int k = 0; k < d; k++) trs += sqrt(w[k] > 0 ? w[k] : 0);
    *fid = diff + tr1 + tr2 - 2 * trs;
    if (!isfinite(*fid)) st = cgan_error(ctx, CGAN_E_NUMERIC, "FID: not finite (features with NaN or inf?)");
done:
    free(mu1); free(mu2); free(s1); free(s2); free(w); free(v); free(t); free(r);
    return st;
}

/* ---- KID ------------------------------------------------------------------------------ */

static double *to_double(const float *x, size_t n)
{
    double *y = malloc(n * sizeof *y);
    if (y)
        for (size_t i = 0; i < n; i++) y[i] = x[i];
    return y;
}

static double dot(const double *a, const double *b, int d)
{
    double s = 0;
    for (int i = 0; i < d; i++) s += a[i] * b[i];
    return s;
}

static double poly3(double xy, int d)
{
    double v = xy / d + 1.0;
    return v * v * v;
}

/* Draw m distinct indices of [0, n) into out (a partial Fisher-Yates over perm). */
static void draw(cgan_rng *r, int *perm, int n, int m, int *out)
{
    for (int i = 0; i < n; i++) perm[i] = i;
    for (int i = 0; i < m; i++) {
        int j = i + (int)cgan_rng_below(r, (uint32_t)(n - i));
        int t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
        out[i] = perm[i];
    }
}

/* Kernel values: from the precomputed matrix when there is one, else computed. */
typedef struct kmat { const double *x, *y; int ny, d; double *k; } kmat;

static double kv(const kmat *k, int i, int j)
{
    return k->k ? k->k[(size_t)i * k->ny + j] : poly3(dot(k->x + (size_t)i * k->d, k->y + (size_t)j * k->d, k->d), k->d);
}

static double *kernel_matrix(const double *x, int nx, const double *y, int ny, int d)
{
    double *k = malloc((size_t)nx * ny * sizeof *k);
    if (!k) return NULL;
    for (int i = 0; i < nx; i++)
        for (int j = 0; j < ny; j++) k[(size_t)i * ny + j] = poly3(dot(x + (size_t)i * d, y + (size_t)j * d, d), d);
    return k;
}

#define KID_PRECOMPUTE_MAX (3u * 2048u * 2048u)   /* kernel entries held (100 MB) */

cgan_status cgan_kid(cgan_ctx *ctx, const float *a, int na, const float *b, int nb, int d, int subsets,
                     int subset_size, uint64_t seed, double *mean, double *std)
{
    *mean = *std = NAN;
    int m = subset_size;
    if (m > na) m = na;
    if (m > nb) m = nb;
    if (m < 2 || subsets < 1 || d < 1)
        return cgan_error(ctx, CGAN_E_INVALID, "KID: subsets of %d from %d and %d features (%d subsets): at least 2 "
                          "features per subset and 1 subset needed", m, na, nb, subsets);
    double *x = to_double(a, (size_t)na * d), *y = to_double(b, (size_t)nb * d);
    int *px = malloc((size_t)na * sizeof *px), *py = malloc((size_t)nb * sizeof *py);
    int *ix = malloc((size_t)m * sizeof *ix), *iy = malloc((size_t)m * sizeof *iy);
    double *est = malloc((size_t)subsets * sizeof *est);
    kmat kxx = { x, x, na, d, NULL }, kyy = { y, y, nb, d, NULL }, kxy = { x, y, nb, d, NULL };
    cgan_status st = CGAN_OK;
    if (!x || !y || !px || !py || !ix || !iy || !est) {
        st = cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
        goto done;
    }
    if ((size_t)na * na + (size_t)nb * nb + (size_t)na * nb <= KID_PRECOMPUTE_MAX) {
        kxx.k = kernel_matrix(x, na, x, na, d);
        kyy.k = kernel_matrix(y, nb, y, nb, d);
        kxy.k = kernel_matrix(x, na, y, nb, d);
        if (!kxx.k || !kyy.k || !kxy.k) {
            st = cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
            goto done;
        }
    }
    cgan_rng r;
    cgan_rng_init(&r, seed, 0x4B1D);
    double sum = 0;
    for (int s = 0; s < subsets; s++) {
        draw(&r, px, na, m, ix);
        draw(&r, py, nb, m, iy);
        double sxx = 0, syy = 0, sxy = 0;
        for (int i = 0; i < m; i++)
            for (int j = 0; j < m; j++) {
                if (i != j) {
                    sxx += kv(&kxx, ix[i], ix[j]);
                    syy += kv(&kyy, iy[i], iy[j]);
                }
                sxy += kv(&kxy, ix[i], iy[j]);
            }
        est[s] = sxx / ((double)m * (m - 1)) + syy / ((double)m * (m - 1)) - 2 * sxy / ((double)m * m);
        sum += est[s];
    }
    *mean = sum / subsets;
    double var = 0;
    for (int s = 0; s < subsets; s++) var += (est[s] - *mean) * (est[s] - *mean);
    *std = subsets > 1 ? sqrt(var / (subsets - 1)) : 0;
done:
    free(x); free(y); free(px); free(py); free(ix); free(iy); free(est);
    free(kxx.k); free(kyy.k); free(kxy.k);
    return st;
}

/* ---- precision and recall ----------------------------------------------------------- */

/* Squared distance to the k-th nearest other point of x, for each point of x [n, d]. */
static cgan_status knn_radii(cgan_ctx *ctx, const double *x, const double *nx, int n, int d, int k, double *rad)
{
    double *best = malloc((size_t)k * sizeof *best);
    if (!best) return cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        int have = 0;
        for (int j = 0; j < n; j++) {
            if (j == i) continue;
            double dist = nx[i] + nx[j] - 2 * dot(x + (size_t)i * d, x + (size_t)j * d, d);
            if (have == k && dist >= best[k - 1]) continue;
            int p = have < k ? have++ : k - 1;   /* insertion into the sorted k smallest */
            while (p > 0 && best[p - 1] > dist) {
                best[p] = best[p - 1];
                p--;
            }
            best[p] = dist;
        }
        rad[i] = best[k - 1];
    }
    free(best);
    return CGAN_OK;
}

/* Share of the points of q inside some ball (centre p[i], squared radius rad[i]). */
static double coverage(const double *p, const double *np, const double *rad, int n, const double *q,
                       const double *nq, int m, int d)
{
    int in = 0;
    for (int j = 0; j < m; j++)
        for (int i = 0; i < n; i++)
            if (np[i] + nq[j] - 2 * dot(p + (size_t)i * d, q + (size_t)j * d, d) <= rad[i]) {
                in++;
                break;
            }
    return m ? (double)in / m : 0;
}

cgan_status cgan_precision_recall(cgan_ctx *ctx, const float *real, int nr, const float *fake, int nf, int d, int k,
                                  double *precision, double *recall)
{
    *precision = *recall = NAN;
    if (k < 1 || nr <= k || nf <= k || d < 1)
        return cgan_error(ctx, CGAN_E_INVALID, "precision/recall: %d real and %d generated features with k = %d: more "
                          "than k of each needed", nr, nf, k);
    double *r = to_double(real, (size_t)nr * d), *f = to_double(fake, (size_t)nf * d);
    double *nrm = malloc((size_t)nr * sizeof *nrm), *nfm = malloc((size_t)nf * sizeof *nfm);
    double *rr = malloc((size_t)nr * sizeof *rr), *rf = malloc((size_t)nf * sizeof *rf);
    cgan_status st = CGAN_OK;
    if (!r || !f || !nrm || !nfm || !rr || !rf) {
        st = cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < nr; i++) nrm[i] = dot(r + (size_t)i * d, r + (size_t)i * d, d);
    for (int i = 0; i < nf; i++) nfm[i] = dot(f + (size_t)i * d, f + (size_t)i * d, d);
    if ((st = knn_radii(ctx, r, nrm, nr, d, k, rr)) || (st = knn_radii(ctx, f, nfm, nf, d, k, rf))) goto done;
    *precision = coverage(r, nrm, rr, nr, f, nfm, nf, d);
    *recall = coverage(f, nfm, rf, nf, r, nrm, nr, d);
done:
    free(r); free(f); free(nrm); free(nfm); free(rr); free(rf);
    return st;
}
