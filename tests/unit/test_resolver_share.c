/* Unit tests for the resolver's per-peer share of the queries in flight. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>

#include <cmocka.h>

#include "../../resolver/resolver.h"

static void
test_a_peer_is_refused_beyond_its_share(void **state)
{
	assert_false(resolver_peer_full(0, 0));
	assert_false(resolver_peer_full(RESOLVER_MAX_PEER_QUERIES - 1,
	    RESOLVER_MAX_PEER_QUERIES - 1));
	assert_true(resolver_peer_full(RESOLVER_MAX_PEER_QUERIES,
	    RESOLVER_MAX_PEER_QUERIES));
}

static void
test_a_flooding_peer_leaves_the_other_its_share(void **state)
{
	/* smtpd holds its whole share: deliver may still ask */
	assert_false(resolver_peer_full(0, RESOLVER_MAX_PEER_QUERIES));
	assert_false(resolver_peer_full(RESOLVER_MAX_PEER_QUERIES - 1,
	    RESOLVER_MAX_QUERIES - 1));
	assert_true(resolver_peer_full(0, RESOLVER_MAX_QUERIES));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_peer_is_refused_beyond_its_share),
		cmocka_unit_test(test_a_flooding_peer_leaves_the_other_its_share),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
