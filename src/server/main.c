#include <stdio.h>
int
main(void)
{
	printf("signetd %s\n", SIGNET_VERSION);
	return 0;
}
