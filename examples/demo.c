/*
 * wasmlite demo: a small WASI command whose output a person can check by hand.
 *
 *   wasmlite run examples/demo.wasm                 the tables below
 *   wasmlite run examples/demo.wasm a b c           ... and echoes its arguments
 *   wasmlite run --env NAME=you examples/demo.wasm  ... and greets NAME
 *   wasmlite run --dir DIR::data examples/demo.wasm data/FILE
 *                                                   ... and counts FILE's lines/words/bytes
 *
 * Built by examples/build.sh with zig's clang for wasm32-wasi (wasi-libc).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_prime(int n) {
    if (n < 2) return 0;
    for (int d = 2; d * d <= n; d++)
        if (n % d == 0) return 0;
    return 1;
}

/* Number of steps for n to reach 1 under the Collatz map, and the highest value seen. */
static int collatz(unsigned long long n, unsigned long long *peak) {
    int steps = 0;
    *peak = n;
    while (n != 1) {
        n = (n % 2 == 0) ? n / 2 : 3 * n + 1;
        if (n > *peak) *peak = n;
        steps++;
    }
    return steps;
}

/* Square root by Newton's method, to show floating point at work. */
static double newton_sqrt(double x) {
    double r = x > 1 ? x / 2 : 1;
    for (int i = 0; i < 30; i++) r = (r + x / r) / 2;
    return r;
}

static int count_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return 1;
    }
    long lines = 0, words = 0, bytes = 0;
    int c, in_word = 0;
    while ((c = fgetc(f)) != EOF) {
        bytes++;
        if (c == '\n') lines++;
        if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
            in_word = 0;
        } else if (!in_word) {
            in_word = 1;
            words++;
        }
    }
    fclose(f);
    printf("%s: %ld lines, %ld words, %ld bytes\n", path, lines, words, bytes);
    return 0;
}

int main(int argc, char **argv) {
    printf("wasmlite demo\n\n");

    printf("The first 20 primes:\n");
    int found = 0;
    for (int n = 2; found < 20; n++) {
        if (is_prime(n)) {
            printf("%s%d", found ? " " : "", n);
            found++;
        }
    }
    printf("\n\n");

    printf("Collatz sequences (n: steps to reach 1, highest value):\n");
    for (unsigned long long n = 1; n <= 10; n++) {
        unsigned long long peak;
        int steps = collatz(n, &peak);
        printf("%3llu: %3d steps, peak %llu\n", n, steps, peak);
    }
    unsigned long long peak;
    printf("%3d: %3d steps, peak %llu\n", 27, collatz(27, &peak), peak);
    printf("\n");

    long long sum = 0;
    for (int i = 1; i <= 100; i++) sum += (long long)i * i;
    printf("1^2 + 2^2 + ... + 100^2 = %lld\n", sum);
    printf("sqrt(2) = %.9f\n", newton_sqrt(2.0));
    printf("10! = %llu\n", (unsigned long long)1 * 2 * 3 * 4 * 5 * 6 * 7 * 8 * 9 * 10);
    printf("\n");

    const char *name = getenv("NAME");
    if (name) printf("Hello, %s!\n", name);

    if (argc <= 1) {
        printf("No arguments given.\n");
        return 0;
    }
    printf("%d argument(s):\n", argc - 1);
    for (int i = 1; i < argc; i++) printf("  argv[%d] = \"%s\"\n", i, argv[i]);
    /* An argument naming a readable file gets counted, like wc. */
    int status = 0;
    for (int i = 1; i < argc; i++) {
        if (strchr(argv[i], '/') != NULL) status |= count_file(argv[i]);
    }
    return status;
}
