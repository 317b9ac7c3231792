/* gemm_trace: an LD_PRELOAD shim that records the shape of every single-precision matrix
 * product a program asks BLAS for (sgemm_ and sgemv_, which Armadillo calls), then passes the
 * call on to the real BLAS. At exit it writes one line per distinct shape to $GEMM_TRACE_OUT
 * (default gemm_trace.txt):
 *
 *   gemm TRANSA TRANSB M N K CALLS      (C (M x N) = op(A) (M x K) op(B) (K x N))
 *   gemv TRANS M N 1 CALLS              (y = op(A) x, A (M x N) as stored)
 *
 * Measurement only (issue 18): bench_gemm times these shapes on each GEMM backend.
 *   LD_PRELOAD=build/bin/libgemm_trace.so GEMM_TRACE_OUT=shapes.txt bench_train --from DIR ...
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

typedef void (*sgemm_fn)(const char*, const char*, const int*, const int*, const int*,
                         const float*, const float*, const int*, const float*, const int*,
                         const float*, float*, const int*);
typedef void (*sgemv_fn)(const char*, const int*, const int*, const float*, const float*,
                         const int*, const float*, const int*, const float*, float*, const int*);

enum { kMaxShapes = 4096 };
struct Shape {
  char kind, ta, tb;
  int m, n, k;
  long calls;
};
static struct Shape shapes[kMaxShapes];
static int shape_count = 0;
static int overflow = 0;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void record(char kind, char ta, char tb, int m, int n, int k) {
  pthread_mutex_lock(&lock);
  for (int i = 0; i < shape_count; ++i) {
    struct Shape* s = &shapes[i];
    if (s->kind == kind && s->ta == ta && s->tb == tb && s->m == m && s->n == n && s->k == k) {
      ++s->calls;
      pthread_mutex_unlock(&lock);
      return;
    }
  }
  if (shape_count < kMaxShapes)
    shapes[shape_count++] = (struct Shape){kind, ta, tb, m, n, k, 1};
  else
    overflow = 1;
  pthread_mutex_unlock(&lock);
}

static void* next_symbol(const char* name) {
  void* f = dlsym(RTLD_NEXT, name);
  if (f == NULL) {
    fprintf(stderr, "gemm_trace: no %s after the shim\n", name);
    abort();
  }
  return f;
}

void sgemm_(const char* ta, const char* tb, const int* m, const int* n, const int* k,
            const float* alpha, const float* a, const int* lda, const float* b, const int* ldb,
            const float* beta, float* c, const int* ldc) {
  static sgemm_fn real = NULL;
  if (real == NULL) real = (sgemm_fn)next_symbol("sgemm_");
  record('g', *ta, *tb, *m, *n, *k);
  real(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void sgemv_(const char* t, const int* m, const int* n, const float* alpha, const float* a,
            const int* lda, const float* x, const int* incx, const float* beta, float* y,
            const int* incy) {
  static sgemv_fn real = NULL;
  if (real == NULL) real = (sgemv_fn)next_symbol("sgemv_");
  record('v', *t, 'N', *m, *n, 1);
  real(t, m, n, alpha, a, lda, x, incx, beta, y, incy);
}

__attribute__((destructor)) static void write_trace(void) {
  const char* path = getenv("GEMM_TRACE_OUT");
  FILE* out = fopen(path != NULL ? path : "gemm_trace.txt", "w");
  if (out == NULL) {
    fprintf(stderr, "gemm_trace: cannot write %s\n", path != NULL ? path : "gemm_trace.txt");
    return;
  }
  for (int i = 0; i < shape_count; ++i) {
    const struct Shape* s = &shapes[i];
    if (s->kind == 'g')
      fprintf(out, "gemm %c %c %d %d %d %ld\n", s->ta, s->tb, s->m, s->n, s->k, s->calls);
    else
      fprintf(out, "gemv %c %d %d 1 %ld\n", s->ta, s->m, s->n, s->calls);
  }
  if (overflow) fprintf(stderr, "gemm_trace: more than %d shapes; the rest were not kept\n",
                        kMaxShapes);
  fclose(out);
}
