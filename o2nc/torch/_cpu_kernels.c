/* The fused CPU kernels of the torch shell's fast path (o2nc/torch/_native.py drives them; the multi-tensor ATen path
 * in o2nc/torch/_fast.py is what they are held to, and the core learners are the ground truth of both).
 *
 * One O2NC step ([CMO23] Cutkosky, Mehta, Orabona, ICML 2023, Algorithm 1) in two sweeps over each parameter tensor:
 *
 *   products  (‖g‖², ‖Δ‖², ⟨Δ, g⟩), read-only: the finiteness check of g and the norm of Δ − ηg for a projection,
 *             ‖Δ − ηg‖² = ‖Δ‖² − 2η⟨Δ, g⟩ + η²‖g‖²;
 *   ogd_step  x_n = w_n + lag·Δ_n,  Δ_{n+1} = (Δ_n − η g_n)·factor,  w_{n+1} = x_n + coef·Δ_{n+1}
 *             (projected OGD, Zinkevich 2003, with factor = min(1, D/‖Δ_n − η g_n‖) taken from the products);
 *   kt_step   the KT bettor coordinate by coordinate (Orabona and Pal, NeurIPS 2016, Section 3):
 *             β_n = X_{n−1}·W_{n−1}/n, x_n = w_n + lag·β_n, the coin c_n = clip(−g_n/G, −1, 1) (or −g_n/h_n with
 *             h_n = max(h_{n−1}, |g_n|) without a known G), X_n = X_{n−1} + c_n, W_n = W_{n−1} + c_n·β_n,
 *             w_{n+1} = x_n + coef·X_n·W_n/(n+1);
 *
 * each element read and written once per sweep, optionally with the epoch sums Σw += w_n, Σg += g_n in the same
 * sweep and ‖Δ_{n+1}‖² (the path length) summed from the values written.
 *
 * The arithmetic of every element is the ATen path's, operation for operation (a·b + c may be contracted into one
 * fused multiply-add, as ATen's vectorised kernels do): the results agree to rounding. Sums are taken in double
 * precision over chunks summed in the tensor's dtype, per thread over a static partition of the elements, and added
 * in thread order: the same inputs and thread count give the same bits.
 *
 * Arguments are data pointers (Python ints) of contiguous CPU tensors of one dtype (0 = float32, 1 = float64),
 * the element count, and scalars; the GIL is released while a sweep runs. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define CHUNK 1024        /* elements summed in the tensor's dtype before the partial sum is added in double */
#define MIN_PER_THREAD 65536  /* below this many elements per thread a sweep runs on one thread */
#define MAX_THREADS 256

#if defined(__GNUC__) && defined(__x86_64__) && defined(__ELF__) && !defined(__clang__)
#define MULTIVERSION __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define MULTIVERSION
#endif

/* ---- sweeps over [lo, hi), one per dtype ------------------------------------------------------------------------ */

#define SIMD_SUM(...) _Pragma(#__VA_ARGS__)

#define DEFINE_SWEEPS(T, SUF)                                                                                        \
MULTIVERSION static void products_##SUF(const T *g, const T *d, Py_ssize_t lo, Py_ssize_t hi, double out[3]) {     \
    double gg = 0.0, dd = 0.0, dg = 0.0;                                                                             \
    for (Py_ssize_t start = lo; start < hi; start += CHUNK) {                                                        \
        Py_ssize_t end = start + CHUNK < hi ? start + CHUNK : hi;                                                    \
        T cgg = 0, cdd = 0, cdg = 0;                                                                                 \
        if (d) {                                                                                                     \
            SIMD_SUM(omp simd reduction(+ : cgg, cdd, cdg))                                                          \
            for (Py_ssize_t i = start; i < end; i++) {                                                               \
                T a = g[i], b = d[i];                                                                                \
                cgg += a * a; cdd += b * b; cdg += a * b;                                                            \
            }                                                                                                        \
        } else {                                                                                                     \
            SIMD_SUM(omp simd reduction(+ : cgg))                                                                    \
            for (Py_ssize_t i = start; i < end; i++) cgg += g[i] * g[i];                                             \
        }                                                                                                            \
        gg += (double)cgg; dd += (double)cdd; dg += (double)cdg;                                                     \
    }                                                                                                                \
    out[0] = gg; out[1] = dd; out[2] = dg;                                                                           \
}                                                                                                                    \
                                                                                                                     \
MULTIVERSION static void ogd_##SUF(T *restrict p, T *restrict d, const T *restrict g, T *restrict sw,                \
                                   T *restrict sg, Py_ssize_t lo, Py_ssize_t hi, T lag, T step, T factor, T coef,    \
                                   int want_sq, double *sq) {                                                        \
    double total = 0.0;                                                                                              \
    for (Py_ssize_t start = lo; start < hi; start += CHUNK) {                                                        \
        Py_ssize_t end = start + CHUNK < hi ? start + CHUNK : hi;                                                    \
        if (sw)                                                                                                      \
            for (Py_ssize_t i = start; i < end; i++) { sw[i] += p[i]; sg[i] += g[i]; }                               \
        T acc = 0;                                                                                                   \
        SIMD_SUM(omp simd reduction(+ : acc))                                                                        \
        for (Py_ssize_t i = start; i < end; i++) {                                                                   \
            T x = p[i] + lag * d[i];                                                                                 \
            T v = (d[i] - step * g[i]) * factor;                                                                     \
            d[i] = v;                                                                                                \
            p[i] = x + coef * v;                                                                                     \
            acc += v * v;                                                                                            \
        }                                                                                                            \
        if (want_sq) total += (double)acc;                                                                           \
    }                                                                                                                \
    *sq = total;                                                                                                     \
}                                                                                                                    \
                                                                                                                     \
/* h == NULL: the coin a·clip(g, −G, G) with bound = G, a = −1/G; else h ← max(h, |g|), coin −g/h (0 where h = 0).  \
   next_value: coef/(n+1), the next bet folded into the parameters' write (want_sq = 0); with want_sq the next bet   \
   is formed as (inv_next·X)·W, its square summed, and added with coef. */                                          \
MULTIVERSION static void kt_##SUF(T *restrict p, T *restrict X, T *restrict W, T *restrict h, const T *restrict g,  \
                                  T *restrict sw, T *restrict sg, Py_ssize_t lo, Py_ssize_t hi, T lag, T inv_now,    \
                                  T bound, T a, T coef, T inv_next, T next_value, int want_sq, double *sq) {         \
    double total = 0.0;                                                                                              \
    for (Py_ssize_t start = lo; start < hi; start += CHUNK) {                                                        \
        Py_ssize_t end = start + CHUNK < hi ? start + CHUNK : hi;                                                    \
        if (sw)                                                                                                      \
            for (Py_ssize_t i = start; i < end; i++) { sw[i] += p[i]; sg[i] += g[i]; }                               \
        T acc = 0;                                                                                                   \
        if (h) {                                                                                                     \
            for (Py_ssize_t i = start; i < end; i++) {                                                               \
                T m = g[i] < 0 ? -g[i] : g[i];                                                                       \
                h[i] = h[i] > m ? h[i] : m;                                                                          \
            }                                                                                                        \
        }                                                                                                            \
        SIMD_SUM(omp simd reduction(+ : acc))                                                                        \
        for (Py_ssize_t i = start; i < end; i++) {                                                                   \
            T bet = inv_now * X[i] * W[i];                                                                           \
            T x = p[i] + lag * bet;                                                                                  \
            T c;                                                                                                     \
            if (h) {                                                                                                 \
                T s = h[i] > 0 ? h[i] : (T)1;                                                                        \
                c = h[i] > 0 ? (-g[i]) / s : (T)0;                                                                   \
            } else {                                                                                                 \
                T gi = g[i];                                                                                         \
                c = gi < -bound ? -bound : (gi > bound ? bound : gi);                                                \
            }                                                                                                        \
            T xn = X[i] + a * c;                                                                                     \
            T wn = W[i] + a * c * bet;                                                                               \
            X[i] = xn;                                                                                               \
            W[i] = wn;                                                                                               \
            T nxt = inv_next * xn * wn;                                                                              \
            acc += nxt * nxt;                                                                                        \
            p[i] = want_sq ? x + coef * nxt : x + next_value * xn * wn;                                              \
        }                                                                                                            \
        if (want_sq) total += (double)acc;                                                                           \
    }                                                                                                                \
    *sq = total;                                                                                                     \
}

DEFINE_SWEEPS(float, f32)
DEFINE_SWEEPS(double, f64)

/* ---- the partition over threads -------------------------------------------------------------------------------- */

static int thread_count(Py_ssize_t n, int requested) {
    int k = requested < 1 ? 1 : (requested > MAX_THREADS ? MAX_THREADS : requested);
    Py_ssize_t most = n / MIN_PER_THREAD;
    if (most < k) k = most < 1 ? 1 : (int)most;
#ifndef _OPENMP
    k = 1;
#endif
    return k;
}

/* [lo, hi) of part t of k: equal parts, boundaries on multiples of CHUNK (whole cache lines and vectors). */
static void part(Py_ssize_t n, int t, int k, Py_ssize_t *lo, Py_ssize_t *hi) {
    Py_ssize_t chunks = (n + CHUNK - 1) / CHUNK;
    Py_ssize_t a = chunks * t / k * CHUNK, b = chunks * (t + 1) / k * CHUNK;
    *lo = a < n ? a : n;
    *hi = b < n ? b : n;
}

/* ---- argument parsing --------------------------------------------------------------------------------------------- */

static int get_ptr(PyObject *o, void **out) {
    *out = PyLong_AsVoidPtr(o);
    return !(*out == NULL && PyErr_Occurred());
}

static int get_double(PyObject *o, double *out) {
    *out = PyFloat_AsDouble(o);
    return !(*out == -1.0 && PyErr_Occurred());
}

static int get_ssize(PyObject *o, Py_ssize_t *out) {
    *out = PyLong_AsSsize_t(o);
    return !(*out == -1 && PyErr_Occurred());
}

static int check_nargs(Py_ssize_t nargs, Py_ssize_t want, const char *name) {
    if (nargs != want) {
        PyErr_Format(PyExc_TypeError, "%s takes %zd arguments (%zd given)", name, want, nargs);
        return 0;
    }
    return 1;
}

static int check_dtype(long dtype) {
    if (dtype != 0 && dtype != 1) {
        PyErr_Format(PyExc_ValueError, "dtype code must be 0 (float32) or 1 (float64), got %ld", dtype);
        return 0;
    }
    return 1;
}

/* products(dtype, g, d or 0, n, threads) -> (‖g‖², ‖Δ‖², ⟨Δ, g⟩) as Python floats */
static PyObject *py_products(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    void *g, *d;
    Py_ssize_t n;
    if (!check_nargs(nargs, 5, "products")) return NULL;
    long dtype = PyLong_AsLong(args[0]);
    long threads = PyLong_AsLong(args[4]);
    if (PyErr_Occurred() || !check_dtype(dtype) || !get_ptr(args[1], &g) || !get_ptr(args[2], &d) ||
        !get_ssize(args[3], &n))
        return NULL;
    double parts[MAX_THREADS][3];
    int k = thread_count(n, (int)threads);
    Py_BEGIN_ALLOW_THREADS
#ifdef _OPENMP
#pragma omp parallel for num_threads(k) schedule(static, 1) if (k > 1)
#endif
    for (int t = 0; t < k; t++) {
        Py_ssize_t lo, hi;
        part(n, t, k, &lo, &hi);
        if (dtype == 0) products_f32((const float *)g, (const float *)d, lo, hi, parts[t]);
        else products_f64((const double *)g, (const double *)d, lo, hi, parts[t]);
    }
    Py_END_ALLOW_THREADS
    double gg = 0.0, dd = 0.0, dg = 0.0;
    for (int t = 0; t < k; t++) { gg += parts[t][0]; dd += parts[t][1]; dg += parts[t][2]; }
    return Py_BuildValue("(ddd)", gg, dd, dg);
}

/* ogd_step(dtype, p, d, g, sw or 0, sg or 0, n, lag, step, factor, coef, want_sq, threads) -> Σ Δ_{n+1}² (0.0
   without want_sq) */
static PyObject *py_ogd_step(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    void *p, *d, *g, *sw, *sg;
    Py_ssize_t n;
    double lag, step, factor, coef;
    if (!check_nargs(nargs, 13, "ogd_step")) return NULL;
    long dtype = PyLong_AsLong(args[0]);
    long want_sq = PyLong_AsLong(args[11]);
    long threads = PyLong_AsLong(args[12]);
    if (PyErr_Occurred() || !check_dtype(dtype) || !get_ptr(args[1], &p) || !get_ptr(args[2], &d) ||
        !get_ptr(args[3], &g) || !get_ptr(args[4], &sw) || !get_ptr(args[5], &sg) || !get_ssize(args[6], &n) ||
        !get_double(args[7], &lag) || !get_double(args[8], &step) || !get_double(args[9], &factor) ||
        !get_double(args[10], &coef))
        return NULL;
    if ((sw == NULL) != (sg == NULL)) {
        PyErr_SetString(PyExc_ValueError, "ogd_step: the epoch sums come in pairs (both pointers or neither)");
        return NULL;
    }
    double parts[MAX_THREADS];
    int k = thread_count(n, (int)threads);
    Py_BEGIN_ALLOW_THREADS
#ifdef _OPENMP
#pragma omp parallel for num_threads(k) schedule(static, 1) if (k > 1)
#endif
    for (int t = 0; t < k; t++) {
        Py_ssize_t lo, hi;
        part(n, t, k, &lo, &hi);
        if (dtype == 0)
            ogd_f32((float *)p, (float *)d, (const float *)g, (float *)sw, (float *)sg, lo, hi, (float)lag,
                    (float)step, (float)factor, (float)coef, (int)want_sq, &parts[t]);
        else
            ogd_f64((double *)p, (double *)d, (const double *)g, (double *)sw, (double *)sg, lo, hi, lag, step,
                    factor, coef, (int)want_sq, &parts[t]);
    }
    Py_END_ALLOW_THREADS
    double total = 0.0;
    for (int t = 0; t < k; t++) total += parts[t];
    return PyFloat_FromDouble(total);
}

/* kt_step(dtype, p, X, W, h or 0, g, sw or 0, sg or 0, n, lag, inv_now, bound, a, coef, inv_next, next_value,
           want_sq, threads) -> Σ β_{n+1}² (0.0 without want_sq) */
static PyObject *py_kt_step(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    void *p, *X, *W, *h, *g, *sw, *sg;
    Py_ssize_t n;
    double lag, inv_now, bound, a, coef, inv_next, next_value;
    if (!check_nargs(nargs, 18, "kt_step")) return NULL;
    long dtype = PyLong_AsLong(args[0]);
    long want_sq = PyLong_AsLong(args[16]);
    long threads = PyLong_AsLong(args[17]);
    if (PyErr_Occurred() || !check_dtype(dtype) || !get_ptr(args[1], &p) || !get_ptr(args[2], &X) ||
        !get_ptr(args[3], &W) || !get_ptr(args[4], &h) || !get_ptr(args[5], &g) || !get_ptr(args[6], &sw) ||
        !get_ptr(args[7], &sg) || !get_ssize(args[8], &n) || !get_double(args[9], &lag) ||
        !get_double(args[10], &inv_now) || !get_double(args[11], &bound) || !get_double(args[12], &a) ||
        !get_double(args[13], &coef) || !get_double(args[14], &inv_next) || !get_double(args[15], &next_value))
        return NULL;
    if ((sw == NULL) != (sg == NULL)) {
        PyErr_SetString(PyExc_ValueError, "kt_step: the epoch sums come in pairs (both pointers or neither)");
        return NULL;
    }
    double parts[MAX_THREADS];
    int k = thread_count(n, (int)threads);
    Py_BEGIN_ALLOW_THREADS
#ifdef _OPENMP
#pragma omp parallel for num_threads(k) schedule(static, 1) if (k > 1)
#endif
    for (int t = 0; t < k; t++) {
        Py_ssize_t lo, hi;
        part(n, t, k, &lo, &hi);
        if (dtype == 0)
            kt_f32((float *)p, (float *)X, (float *)W, (float *)h, (const float *)g, (float *)sw, (float *)sg, lo,
                   hi, (float)lag, (float)inv_now, (float)bound, (float)a, (float)coef, (float)inv_next,
                   (float)next_value, (int)want_sq, &parts[t]);
        else
            kt_f64((double *)p, (double *)X, (double *)W, (double *)h, (const double *)g, (double *)sw,
                   (double *)sg, lo, hi, lag, inv_now, bound, a, coef, inv_next, next_value, (int)want_sq,
                   &parts[t]);
    }
    Py_END_ALLOW_THREADS
    double total = 0.0;
    for (int t = 0; t < k; t++) total += parts[t];
    return PyFloat_FromDouble(total);
}

static PyObject *py_openmp(PyObject *self, PyObject *unused) {
#ifdef _OPENMP
    Py_RETURN_TRUE;
#else
    Py_RETURN_FALSE;
#endif
}

static PyMethodDef methods[] = {
    {"products", (PyCFunction)(void (*)(void))py_products, METH_FASTCALL,
     "products(dtype, g, d, n, threads) -> (‖g‖², ‖Δ‖², ⟨Δ, g⟩); d = 0 for ‖g‖² alone"},
    {"ogd_step", (PyCFunction)(void (*)(void))py_ogd_step, METH_FASTCALL,
     "ogd_step(dtype, p, d, g, sw, sg, n, lag, step, factor, coef, want_sq, threads) -> Σ Δ_{n+1}²"},
    {"kt_step", (PyCFunction)(void (*)(void))py_kt_step, METH_FASTCALL,
     "kt_step(dtype, p, X, W, h, g, sw, sg, n, lag, inv_now, bound, a, coef, inv_next, next_value, want_sq, "
     "threads) -> Σ β_{n+1}²"},
    {"openmp", py_openmp, METH_NOARGS, "whether the sweeps were built with OpenMP threads"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_cpu_kernels", NULL, -1, methods};

PyMODINIT_FUNC PyInit__cpu_kernels(void) { return PyModule_Create(&module); }
