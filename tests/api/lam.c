/*
 * The LAM/MPI model: a program keeps a TCP connection to a server. With
 * "callback", a thread-context callback closes it before each checkpoint and
 * reconnects after (on continue and on restart); without, the checkpoint is
 * refused because of the socket. It sends lines 1..N, one every 10 ms.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "cairn.h"

static int port, sock = -1, reconnects;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static int dial(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("connect");
		exit(3);
	}
	return s;
}

static int around_checkpoint(void *arg)
{
	pthread_mutex_lock(&lock); /* no line half sent */
	close(sock);
	sock = -1;
	int rc = cairn_checkpoint(CAIRN_READY, NULL);
	sock = dial();
	reconnects++;
	dprintf(sock, "# reconnected after %s\n", rc == 1 ? "restart" : rc == 0 ? "continue" : "failure");
	pthread_mutex_unlock(&lock);
	return 0;
}

int main(int argc, char **argv)
{
	port = atoi(argv[1]);
	int n = atoi(argv[2]);
	if (argc > 3 && strcmp(argv[3], "callback") == 0)
		cairn_register_callback(around_checkpoint, NULL, CAIRN_THREAD_CONTEXT);
	sock = dial();
	for (int i = 1; i <= n; i++) {
		pthread_mutex_lock(&lock);
		dprintf(sock, "line %d\n", i);
		pthread_mutex_unlock(&lock);
		usleep(10000);
	}
	pthread_mutex_lock(&lock);
	dprintf(sock, "# done after %d reconnects\n", reconnects);
	close(sock);
	pthread_mutex_unlock(&lock);
	return 0;
}
