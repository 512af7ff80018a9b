/* Strings naming the module "cfoo" whose length is kept apart from them, as Rust keeps a &str
 * (pointer, length) and PyO3 a C string made from a literal (length counting the NUL).
 * Built by tests/test_lengths.py with gcc -O2 -shared -fPIC; RUST_NOTE adds the note rustc
 * leaves in .comment, so the same code is read as a Rust binary. */
#include <stddef.h>

#ifdef RUST_NOTE
__asm__(".section .comment\n.string \"rustc version 1.95.0 (fixture)\"\n.text");
#endif

struct str { const char *p; size_t n; };
struct two { const char *p; const char *q; };

/* data: pointer followed by the length, without and with the NUL */
const struct str fat = {"cfoo.helper", 11};
const struct str counted = {"cfoo.counted", 13};
/* data: a length-delimited string that runs on into the next one (no NUL where it ends) */
const struct str prefix = {"cfoo.first" "cfoo.second", 10};
/* data: pointers with no length beside them, to a name followed by bytes that are no text
 * (where a Rust string would end: refused) and to a message that starts with a name (prose) */
const struct two bare = {"cfoo.bare\x01\x02", "other"};
const struct two prose = {"cfoo.prose is a message", "other"};

extern void take(const char *p, size_t n);
extern void take_c(const char *p);

/* code: the length in the register after the pointer's */
void call_len(void) { take("cfoo.code", 9); }
/* code: a C string passed alone */
void call_c(void) { take_c("cfoo.plain"); }
