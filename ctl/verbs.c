/* posternctl: the table of verbs that parse their own arguments. */
#include <stddef.h>

#include "ctl.h"

/* Each verb lives in its own file of ctl/ and is listed here. */
/* == issue 7a (requeue, pause incoming, trace, log-level) verb prototypes == */
/* == issue 7b (offline view, route, policy-test) verb prototypes == */

const struct ctl_verb ctl_verbs[] = {
	/* == issue 7a (requeue, pause incoming, trace, log-level) verbs == */
	/* == issue 7b (offline view, route, policy-test) verbs == */
	{ NULL, NULL, NULL }
};
