/* 24x24 integer matrix multiply, as benchmarks/kernels/matmul.s. */
#define N 24
static int a[N][N], b[N][N], c[N][N];

void setup(void) {
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) { a[i][j] = i + j; b[i][j] = i - j; }
}

unsigned kernel(void) {
    unsigned sum = 0;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            unsigned s = 0;
            for (int k = 0; k < N; k++) s += (unsigned)a[i][k] * (unsigned)b[k][j];
            c[i][j] = (int)s;
            sum += s;
        }
    return sum;
}
