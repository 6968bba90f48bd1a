/*
 * The demo's "simulation": two threads integrate a 1-D heat equation on
 * halves of a rod, exchanging boundary values each step, and print their
 * progress. The result depends on every step, so a checkpoint/restart that
 * lost or repeated anything would change the final line.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define N 200000
static double rod[2][N + 2];
static int steps;
static pthread_barrier_t bar;

static void *half(void *arg)
{
	long h = (long)arg;
	double *cur = rod[0], *nxt = rod[1];
	long lo = h ? N / 2 + 1 : 1, hi = h ? N + 1 : N / 2 + 1;

	for (int s = 0; s < steps; s++) {
		for (long i = lo; i < hi; i++)
			nxt[i] = cur[i] + 0.25 * (cur[i - 1] - 2 * cur[i] + cur[i + 1]);
		pthread_barrier_wait(&bar);
		double *t = cur;
		cur = nxt;
		nxt = t;
		if (h == 0 && s % (steps / 10) == 0) {
			printf("step %5d of %d\n", s, steps);
			fflush(stdout);
		}
		pthread_barrier_wait(&bar);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t[2];
	double sum = 0, moment = 0;

	steps = argc > 1 ? atoi(argv[1]) : 40000;
	for (long i = 1; i <= N; i++)
		rod[0][i] = sin((double)i / N * 3.14159265358979) * 100.0 + (i % 97);
	pthread_barrier_init(&bar, NULL, 2);
	for (long h = 0; h < 2; h++)
		pthread_create(&t[h], NULL, half, (void *)h);
	for (int h = 0; h < 2; h++)
		pthread_join(t[h], NULL);
	double *fin = rod[steps % 2];
	for (long i = 1; i <= N; i++) {
		sum += fin[i];
		moment += fin[i] * (double)i;
	}
	printf("answer: heat %.6f, centre %.6f\n", sum, moment / sum);
	return 0;
}
