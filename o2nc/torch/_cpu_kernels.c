/* The fused CPU kernels of the torch shell's fast path (o2nc/torch/_native.py drives them; the multi-tensor ATen path
 * in o2nc/torch/_fast.py is what they are held to, and the core learners are the ground truth of both).
 *
 * One O2NC step ([CMO23] Cutkosky, Mehta, Orabona, ICML 2023, Algorithm 1) in two sweeps over each parameter tensor:
 *
 *   products  (‖g‖², ‖Δ‖², ⟨Δ, g⟩), read-only: the finiteness check of g and the norm of Δ − ηg for a projection,
 *             ‖Δ − ηg‖² = ‖Δ‖² − 2η⟨Δ, g⟩ + η²‖g‖²;
 *   ogd_step  x_n = w_n + lag·Δ_n,  Δ_{n+1} = (Δ_n − η g_n)·factor,  w_{n+1} = x_n + coef·Δ_{n+1}
 *             (projected OGD, Zinkevich, ICML 2003, with factor = min(1, D/‖Δ_n − η g_n‖) from the products);
 *   kt_step   the Krichevsky–Trofimov bettor coordinate by coordinate (Orabona and Pál, NeurIPS 2016), as
 *             online_learners/betting.py's KT:
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
 * Arguments are, per operand, the data pointers (Python ints) of a list of contiguous CPU tensors of one dtype
 * (0 = float32, 1 = float64) with their element counts, and scalars; the threads split the concatenation of the
 * tensors into equal parts. The GIL is held while a sweep runs, so that no other Python thread can resize or free an
 * operand under it; a step whose operands' memory overlaps is not run (None), nothing written. A zero lag or coef
 * adds nothing, as the ATen path skips that pass (an infinite Δ stays out of the point). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define CHUNK 1024        /* elements summed in the tensor's dtype before the partial sum is added in double */
#define MIN_PER_THREAD 65536  /* below this many elements per thread a sweep runs on one thread */
#define MAX_THREADS 256

#if defined(__GNUC__) && defined(__x86_64__) && defined(__ELF__) && !defined(__clang__) && \
    !defined(O2NC_NO_MULTIVERSION)
#define MULTIVERSION __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define MULTIVERSION
#endif

/* ---- sweeps over [lo, hi), one per dtype ------------------------------------------------------------------------ */

#define SIMD_SUM(...) _Pragma(#__VA_ARGS__)

/* One chunk of KT's sweep: the bet β = (inv_now·X)·W, x = w + lag·β, the coin, X and W, and the next point; the coin
   and the write of the next point are plugged in, so that each of the four loops is straight-line code that
   vectorises. */
#define KT_LOOP(T, COIN, NEXT)                                                                                        \
    {                                                                                                                \
        SIMD_SUM(omp simd reduction(+ : acc))                                                                        \
        for (Py_ssize_t i = start; i < end; i++) {                                                                   \
            T bet = inv_now * X[i] * W[i];                                                                           \
            T x = lag != 0 ? p[i] + lag * bet : p[i];                                                                \
            T c = COIN;                                                                                              \
            T xn = X[i] + a * c;                                                                                     \
            T wn = W[i] + a * c * bet;                                                                               \
            X[i] = xn;                                                                                               \
            W[i] = wn;                                                                                               \
            NEXT                                                                                                     \
        }                                                                                                            \
    }
/* clip(g, −G, G) (the coin is a·clip with a = −1/G) */
#define KT_CLIPPED_COIN(T) (g[i] < -bound ? -bound : (g[i] > bound ? bound : g[i]))
/* −g/h, 0 where h = 0 (h already holds max(h, |g|)) */
#define KT_SCALE_FREE_COIN(T) (h[i] > 0 ? (-g[i]) / (h[i] > 0 ? h[i] : (T)1) : (T)0)
/* w_{n+1} = x + (coef/(n+1))·X·W, as the ATen path's addcmul with value coef/(n+1) */
#define KT_NEXT p[i] = next_value != 0 ? x + next_value * xn * wn : x;
/* β_{n+1} = (inv_next·X)·W formed, its square summed, w_{n+1} = x + coef·β_{n+1} */
#define KT_NEXT_WITH_SQUARE(T)                                                                                       \
    T nxt = inv_next * xn * wn;                                                                                      \
    acc += nxt * nxt;                                                                                                \
    p[i] = coef != 0 ? x + coef * nxt : x;

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
            T x = lag != 0 ? p[i] + lag * d[i] : p[i];                                                               \
            T v = (d[i] - step * g[i]) * factor;                                                                     \
            d[i] = v;                                                                                                \
            p[i] = coef != 0 ? x + coef * v : x;                                                                     \
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
                T m = _Generic(g[i], float: fabsf, default: fabs)(g[i]);                                             \
                h[i] = (h[i] > m || h[i] != h[i]) ? h[i] : m; /* torch.maximum: a NaN h stays NaN */                \
            }                                                                                                        \
        }                                                                                                            \
        if (h && want_sq) KT_LOOP(T, KT_SCALE_FREE_COIN(T), KT_NEXT_WITH_SQUARE(T))                                \
        else if (h) KT_LOOP(T, KT_SCALE_FREE_COIN(T), KT_NEXT)                                                       \
        else if (want_sq) KT_LOOP(T, KT_CLIPPED_COIN(T), KT_NEXT_WITH_SQUARE(T))                                     \
        else KT_LOOP(T, KT_CLIPPED_COIN(T), KT_NEXT)                                                                 \
        if (want_sq) total += (double)acc;                                                                           \
    }                                                                                                                \
    *sq = total;                                                                                                     \
}

DEFINE_SWEEPS(float, f32)
DEFINE_SWEEPS(double, f64)

/* ---- lists of tensors, split over threads ---------------------------------------------------------------------- */

#define MAX_OPERANDS 8

/* A step's operands: for each operand a pointer per tensor (NULL where the operand is absent), the tensors' sizes
   and their offsets in the concatenation, which the threads split into equal parts. */
typedef struct {
    Py_ssize_t count;
    Py_ssize_t *sizes;
    Py_ssize_t *offsets;
    void **ptrs[MAX_OPERANDS];
    Py_ssize_t total;
} Lists;

static void lists_free(Lists *l) {
    PyMem_Free(l->sizes);
    PyMem_Free(l->offsets);
    for (int j = 0; j < MAX_OPERANDS; j++) PyMem_Free(l->ptrs[j]);
}

/* sizes: a sequence of element counts; operands[j]: a sequence of data pointers of the same length, or None for an
   operand that is absent (all its pointers NULL), which only the operands outside the bit mask `required` may be. */
static int lists_parse(PyObject *sizes, PyObject *const *operands, int n_operands, unsigned required, Lists *l) {
    memset(l, 0, sizeof(*l));
    for (int j = 0; j < n_operands; j++)
        if (operands[j] == Py_None && ((required >> j) & 1u)) {
            PyErr_Format(PyExc_TypeError, "operand %d is required (a sequence of data pointers), got None", j);
            return 0;
        }
    PyObject *fast = PySequence_Fast(sizes, "sizes must be a sequence of element counts");
    if (!fast) return 0;
    Py_ssize_t m = PySequence_Fast_GET_SIZE(fast);
    l->count = m;
    l->sizes = PyMem_Calloc(m ? m : 1, sizeof(Py_ssize_t));
    l->offsets = PyMem_Calloc(m ? m : 1, sizeof(Py_ssize_t));
    if (!l->sizes || !l->offsets) { Py_DECREF(fast); PyErr_NoMemory(); return 0; }
    for (Py_ssize_t i = 0; i < m; i++) {
        Py_ssize_t n = PyLong_AsSsize_t(PySequence_Fast_GET_ITEM(fast, i));
        if (n == -1 && PyErr_Occurred()) { Py_DECREF(fast); return 0; }
        if (n < 0) { Py_DECREF(fast); PyErr_SetString(PyExc_ValueError, "sizes must be ≥ 0"); return 0; }
        l->sizes[i] = n;
        l->offsets[i] = l->total;
        l->total += n;
    }
    Py_DECREF(fast);
    for (int j = 0; j < n_operands; j++) {
        l->ptrs[j] = PyMem_Calloc(m ? m : 1, sizeof(void *));
        if (!l->ptrs[j]) { PyErr_NoMemory(); return 0; }
        if (operands[j] == Py_None) continue;
        PyObject *seq = PySequence_Fast(operands[j], "operands must be sequences of data pointers or None");
        if (!seq) return 0;
        if (PySequence_Fast_GET_SIZE(seq) != m) {
            Py_DECREF(seq);
            PyErr_Format(PyExc_ValueError, "operand %d has %zd pointers for %zd sizes", j,
                         PySequence_Fast_GET_SIZE(seq), m);
            return 0;
        }
        for (Py_ssize_t i = 0; i < m; i++) {
            void *ptr = PyLong_AsVoidPtr(PySequence_Fast_GET_ITEM(seq, i));
            if (ptr == NULL && PyErr_Occurred()) { Py_DECREF(seq); return 0; }
            if (ptr == NULL && l->sizes[i] > 0) {
                Py_DECREF(seq);
                PyErr_Format(PyExc_ValueError, "operand %d: a null pointer for a tensor of %zd elements", j,
                             l->sizes[i]);
                return 0;
            }
            l->ptrs[j][i] = ptr;
        }
        Py_DECREF(seq);
    }
    return 1;
}

typedef struct {
    uintptr_t start, end;
} Interval;

static int interval_order(const void *a, const void *b) {
    uintptr_t x = ((const Interval *)a)->start, y = ((const Interval *)b)->start;
    return (x > y) - (x < y);
}

/* Whether the memory of all the operands' tensors is pairwise disjoint (a sweep reads and writes each element once,
   in an order that differs from the ATen path's passes, and its pointers are declared restrict); -1 on no memory. */
static int lists_disjoint(const Lists *l, int n_operands, size_t itemsize) {
    Py_ssize_t n = 0;
    Interval *spans = PyMem_Malloc(sizeof(Interval) * (size_t)(l->count * n_operands + 1));
    if (!spans) { PyErr_NoMemory(); return -1; }
    for (int j = 0; j < n_operands; j++)
        for (Py_ssize_t i = 0; i < l->count; i++)
            if (l->ptrs[j][i] != NULL && l->sizes[i] > 0) {
                spans[n].start = (uintptr_t)l->ptrs[j][i];
                spans[n].end = spans[n].start + (uintptr_t)l->sizes[i] * itemsize;
                n++;
            }
    qsort(spans, (size_t)n, sizeof(Interval), interval_order);
    int disjoint = 1;
    for (Py_ssize_t k = 1; k < n && disjoint; k++)
        if (spans[k].start < spans[k - 1].end) disjoint = 0;
    PyMem_Free(spans);
    return disjoint;
}

static int thread_count(Py_ssize_t n, int requested) {
    int k = requested < 1 ? 1 : (requested > MAX_THREADS ? MAX_THREADS : requested);
    Py_ssize_t most = n / MIN_PER_THREAD;
    if (most < k) k = most < 1 ? 1 : (int)most;
#ifndef _OPENMP
    k = 1;
#endif
    return k;
}

/* [lo, hi) of part t of k of the concatenation: equal parts, boundaries on multiples of CHUNK. */
static void part(Py_ssize_t n, int t, int k, Py_ssize_t *lo, Py_ssize_t *hi) {
    Py_ssize_t chunks = (n + CHUNK - 1) / CHUNK;
    Py_ssize_t a = chunks * t / k * CHUNK, b = chunks * (t + 1) / k * CHUNK;
    *lo = a < n ? a : n;
    *hi = b < n ? b : n;
}

/* Runs body(i, a, b, partial) for every tensor i and its local range [a, b) of each thread's part; each thread adds
   into its own partial sums, which are then added in thread order (the same bits for the same thread count). */
#define FOR_EACH_PART(lists, threads, partials, width, body)                                                          \
    do {                                                                                                             \
        int k_ = thread_count((lists).total, (threads));                                                             \
        for (int t_ = 0; t_ < k_; t_++)                                                                              \
            for (int w_ = 0; w_ < (width); w_++) (partials)[t_][w_] = 0.0;                                           \
        _Pragma("omp parallel for num_threads(k_) schedule(static, 1) if (k_ > 1)")                                 \
        for (int t_ = 0; t_ < k_; t_++) {                                                                            \
            Py_ssize_t lo_, hi_;                                                                                     \
            part((lists).total, t_, k_, &lo_, &hi_);                                                                 \
            for (Py_ssize_t i = 0; i < (lists).count; i++) {                                                         \
                Py_ssize_t off_ = (lists).offsets[i], end_ = off_ + (lists).sizes[i];                                \
                Py_ssize_t a = lo_ > off_ ? lo_ - off_ : 0, b = (hi_ < end_ ? hi_ : end_) - off_;                    \
                if (a >= b) continue;                                                                                \
                double *partial = (partials)[t_];                                                                    \
                body;                                                                                                \
            }                                                                                                        \
        }                                                                                                            \
        for (int t_ = 1; t_ < k_; t_++)                                                                              \
            for (int w_ = 0; w_ < (width); w_++) (partials)[0][w_] += (partials)[t_][w_];                            \
    } while (0)

/* ---- argument parsing --------------------------------------------------------------------------------------------- */

static int get_double(PyObject *o, double *out) {
    *out = PyFloat_AsDouble(o);
    return !(*out == -1.0 && PyErr_Occurred());
}

static int check_nargs(Py_ssize_t nargs, Py_ssize_t want, const char *name) {
    if (nargs != want) {
        PyErr_Format(PyExc_TypeError, "%s takes %zd arguments (%zd given)", name, want, nargs);
        return 0;
    }
    return 1;
}

static int get_dtype(PyObject *o, long *dtype) {
    *dtype = PyLong_AsLong(o);
    if (*dtype == -1 && PyErr_Occurred()) return 0;
    if (*dtype != 0 && *dtype != 1) {
        PyErr_Format(PyExc_ValueError, "dtype code must be 0 (float32) or 1 (float64), got %ld", *dtype);
        return 0;
    }
    return 1;
}

static int get_int(PyObject *o, int *out) {
    long v = PyLong_AsLong(o);
    if (v == -1 && PyErr_Occurred()) return 0;
    *out = (int)v;
    return 1;
}

static int check_pair(const Lists *l, int a, int b, const char *name) {
    for (Py_ssize_t i = 0; i < l->count; i++)
        if ((l->ptrs[a][i] == NULL) != (l->ptrs[b][i] == NULL) && l->sizes[i] > 0) {
            PyErr_Format(PyExc_ValueError, "%s: the epoch sums come in pairs (both pointers or neither)", name);
            return 0;
        }
    return 1;
}

/* A step's lists: parsed, the epoch sums paired (operands `sums` and `sums` + 1), and the operands' memory checked
   disjoint. Returns 1 to run, 0 on an error (raised), -1 where operands overlap (the step is not run). */
static int step_lists(PyObject *const *args, int n_operands, unsigned required, int sums, long dtype,
                      const char *name, Lists *l) {
    if (!lists_parse(args[1], args + 2, n_operands, required, l) || !check_pair(l, sums, sums + 1, name)) {
        lists_free(l);
        return 0;
    }
    int disjoint = lists_disjoint(l, n_operands, dtype == 0 ? sizeof(float) : sizeof(double));
    if (disjoint != 1) lists_free(l);
    return disjoint == 1 ? 1 : (disjoint == 0 ? -1 : 0);
}

typedef double Partials[MAX_THREADS][8];  /* a 64-byte row per thread: no two threads write one cache line */

/* The threads' partial sums for a sweep over `l`; on failure `l` is freed and MemoryError raised (NULL). */
static Partials *partials_new(Lists *l) {
    Partials *parts = PyMem_Malloc(sizeof(Partials));
    if (!parts) {
        lists_free(l);
        PyErr_NoMemory();
    }
    return parts;
}

static void sweep_free(Partials *parts, Lists *l) {
    PyMem_Free(parts);
    lists_free(l);
}

/* What a step returns where step_lists did not give 1: None where operands overlap (nothing written, the caller
   takes the ATen path), NULL where an error was raised. */
static PyObject *not_run(int ready) {
    if (ready < 0) Py_RETURN_NONE;
    return NULL;
}

/* products(dtype, sizes, gs, ds or None, threads) -> (‖g‖², ‖Δ‖², ⟨Δ, g⟩) over the lists, as Python floats */
static PyObject *py_products(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    long dtype;
    int threads;
    Lists l;
    if (!check_nargs(nargs, 5, "products") || !get_dtype(args[0], &dtype) || !get_int(args[4], &threads)) return NULL;
    if (!lists_parse(args[1], args + 2, 2, 0x1u, &l)) { lists_free(&l); return NULL; }
    Partials *parts = partials_new(&l);
    if (!parts) return NULL;
    double out[3];
    FOR_EACH_PART(l, threads, *parts, 3, {
        double sums[3];
        if (dtype == 0) products_f32((const float *)l.ptrs[0][i], (const float *)l.ptrs[1][i], a, b, sums);
        else products_f64((const double *)l.ptrs[0][i], (const double *)l.ptrs[1][i], a, b, sums);
        partial[0] += sums[0]; partial[1] += sums[1]; partial[2] += sums[2];
    });
    out[0] = (*parts)[0][0]; out[1] = (*parts)[0][1]; out[2] = (*parts)[0][2];
    sweep_free(parts, &l);
    return Py_BuildValue("(ddd)", out[0], out[1], out[2]);
}

/* ogd_step(dtype, sizes, ps, ds, gs, sws or None, sgs or None, lag, step, factor, coef, want_sq, threads)
   -> Σ Δ_{n+1}² (0.0 without want_sq), or None, nothing written, where two operands' memory overlaps */
static PyObject *py_ogd_step(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    long dtype;
    int want_sq, threads;
    double lag, step, factor, coef;
    Lists l;
    if (!check_nargs(nargs, 13, "ogd_step") || !get_dtype(args[0], &dtype) || !get_double(args[7], &lag) ||
        !get_double(args[8], &step) || !get_double(args[9], &factor) || !get_double(args[10], &coef) ||
        !get_int(args[11], &want_sq) || !get_int(args[12], &threads))
        return NULL;
    int ready = step_lists(args, 5, 0x7u, 3, dtype, "ogd_step", &l);
    if (ready != 1) return not_run(ready);
    Partials *parts = partials_new(&l);
    if (!parts) return NULL;
    FOR_EACH_PART(l, threads, *parts, 1, {
        double sq;
        if (dtype == 0)
            ogd_f32((float *)l.ptrs[0][i], (float *)l.ptrs[1][i], (const float *)l.ptrs[2][i],
                    (float *)l.ptrs[3][i], (float *)l.ptrs[4][i], a, b, (float)lag, (float)step, (float)factor,
                    (float)coef, want_sq, &sq);
        else
            ogd_f64((double *)l.ptrs[0][i], (double *)l.ptrs[1][i], (const double *)l.ptrs[2][i],
                    (double *)l.ptrs[3][i], (double *)l.ptrs[4][i], a, b, lag, step, factor, coef, want_sq, &sq);
        partial[0] += sq;
    });
    double total = (*parts)[0][0];
    sweep_free(parts, &l);
    return PyFloat_FromDouble(total);
}

/* kt_step(dtype, sizes, ps, Xs, Ws, hs or None, gs, sws or None, sgs or None, lag, inv_now, bound, a, coef,
           inv_next, next_value, want_sq, threads) -> Σ β_{n+1}² (0.0 without want_sq), or None as ogd_step */
static PyObject *py_kt_step(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    long dtype;
    int want_sq, threads;
    double lag, inv_now, bound, a_coin, coef, inv_next, next_value;
    Lists l;
    if (!check_nargs(nargs, 18, "kt_step") || !get_dtype(args[0], &dtype) || !get_double(args[9], &lag) ||
        !get_double(args[10], &inv_now) || !get_double(args[11], &bound) || !get_double(args[12], &a_coin) ||
        !get_double(args[13], &coef) || !get_double(args[14], &inv_next) || !get_double(args[15], &next_value) ||
        !get_int(args[16], &want_sq) || !get_int(args[17], &threads))
        return NULL;
    int ready = step_lists(args, 7, 0x17u, 5, dtype, "kt_step", &l);
    if (ready != 1) return not_run(ready);
    Partials *parts = partials_new(&l);
    if (!parts) return NULL;
    FOR_EACH_PART(l, threads, *parts, 1, {
        double sq;
        if (dtype == 0)
            kt_f32((float *)l.ptrs[0][i], (float *)l.ptrs[1][i], (float *)l.ptrs[2][i], (float *)l.ptrs[3][i],
                   (const float *)l.ptrs[4][i], (float *)l.ptrs[5][i], (float *)l.ptrs[6][i], a, b, (float)lag,
                   (float)inv_now, (float)bound, (float)a_coin, (float)coef, (float)inv_next, (float)next_value,
                   want_sq, &sq);
        else
            kt_f64((double *)l.ptrs[0][i], (double *)l.ptrs[1][i], (double *)l.ptrs[2][i], (double *)l.ptrs[3][i],
                   (const double *)l.ptrs[4][i], (double *)l.ptrs[5][i], (double *)l.ptrs[6][i], a, b, lag, inv_now,
                   bound, a_coin, coef, inv_next, next_value, want_sq, &sq);
        partial[0] += sq;
    });
    double total = (*parts)[0][0];
    sweep_free(parts, &l);
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
     "products(dtype, sizes, gs, ds, threads) -> (‖g‖², ‖Δ‖², ⟨Δ, g⟩); ds = None for ‖g‖² alone"},
    {"ogd_step", (PyCFunction)(void (*)(void))py_ogd_step, METH_FASTCALL,
     "ogd_step(dtype, sizes, ps, ds, gs, sws, sgs, lag, step, factor, coef, want_sq, threads) -> Σ Δ_{n+1}²"},
    {"kt_step", (PyCFunction)(void (*)(void))py_kt_step, METH_FASTCALL,
     "kt_step(dtype, sizes, ps, Xs, Ws, hs, gs, sws, sgs, lag, inv_now, bound, a, coef, inv_next, next_value, "
     "want_sq, threads) -> Σ β_{n+1}²"},
    {"openmp", py_openmp, METH_NOARGS, "whether the sweeps were built with OpenMP threads"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_cpu_kernels", NULL, -1, methods, NULL, NULL, NULL, NULL};

/* The calling convention's version: o2nc/torch/_native.py loads an extension built from another version of this file
   (a stale build left in an editable install) as not built. */
#define KERNELS_ABI 3

PyMODINIT_FUNC PyInit__cpu_kernels(void) {
    PyObject *m = PyModule_Create(&module);
    if (m && PyModule_AddIntConstant(m, "ABI", KERNELS_ABI) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
