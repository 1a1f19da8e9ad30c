/**
 * The help texts of `keyward --help` and `keyward <command> --help`.
 * @module
 */

/** What `keyward --help` prints (and, on stderr, `keyward` alone). */
export const HELP = `keyward: generate, hash and check keyward API keys

Usage:
  keyward generate [--prefix <prefix>] [--env <environment>] [--json]
  keyward hash [--json]                  reads the key from stdin
  keyward check - [--json]               reads the key from stdin (preferred)
  keyward check <key> [--json]
  keyward scan <file>...                 find keys in files (exit 1 if any)
  keyward <command> --help               help for one command
  keyward --help | --version

Commands:
  generate  Create a new key from the system CSPRNG and print it with its hash. The key
            is shown this once and stored nowhere: store the hash, hand the key over.
  hash      Read one key (one line) from stdin and print the hash to store or look up.
  check     Say whether a key has keyward's format and a valid checksum (no lookup).
            Prefer "check -" with the key on stdin: a key given as an argument is kept
            in your shell history and is visible to other users in process listings.
  scan      Find keyward keys (prefix and valid checksum) in files, for pre-commit hooks
            and CI. Prints file:line:column with the key redacted; never prints a key.

Options:
  --prefix <prefix>   1-16 lower-case letters or digits, starting with a letter (default kw)
  --env <environment> environment segment, e.g. live or test, 1-16 lower-case letters
                      or digits (default: none)
  --json              print one JSON object instead of text
  -h, --help          print this help
  -v, -V, --version   print the version

There is no --pepper option: the pepper is read from KEYWARD_PEPPER only, so it never
lands in shell history or in process listings.

Environment:
  KEYWARD_PEPPER      HMAC key for hashes (at least 32 bytes), used exactly as given; it
                      must equal the pepper your server passes to keyward. Unset: SHA-256.

Exit status:
  0  success (check: the key is valid; scan: no key found)
  1  check: the key is not valid; scan: a key was found; any command: I/O failure
  2  usage error: unknown command or option, bad pepper, empty or malformed key, a file
     scan cannot read

Examples:
  keyward generate --prefix acme --env live
  printf '%s\\n' "$KEY" | keyward hash
  keyward check - < key.txt
`

const PEPPER_HELP = `Environment:
  KEYWARD_PEPPER      HMAC key for hashes (at least 32 bytes), used exactly as given; it
                      must equal the pepper your server passes to keyward. Unset: SHA-256.
                      There is no --pepper option: an argument lands in shell history.
`

/** Help of one command: what `keyward <command> --help` prints. */
export const COMMAND_HELP: Readonly<Record<string, string>> = {
  generate: `keyward generate: create a new key and print it with its hash

Usage:
  keyward generate [--prefix <prefix>] [--env <environment>] [--json]

The key comes from the system CSPRNG and is shown this once; it is stored nowhere.
Store the hash, hand the key over.

Options:
  --prefix <prefix>   1-16 lower-case letters or digits, starting with a letter (default kw)
  --env <environment> environment segment, e.g. live or test, 1-16 lower-case letters
                      or digits (default: none)
  --json              print { key, hash, algorithm, prefix, environment? } as JSON

${PEPPER_HELP}
Example:
  keyward generate --prefix acme --env live
`,
  hash: `keyward hash: print the hash of a key read from stdin

Usage:
  keyward hash [--json]

Reads one key (one line) from stdin, with echo off on a terminal, and prints the hash to
store or look up. The key is never taken as an argument: arguments land in shell history.

Options:
  --json              print { hash, algorithm } as JSON

${PEPPER_HELP}
Example:
  printf '%s\\n' "$KEY" | keyward hash
`,
  check: `keyward check: say whether a key has keyward's format and a valid checksum

Usage:
  keyward check - [--json]               reads the key from stdin (preferred)
  keyward check <key> [--json]

No store is consulted. Prefer "check -": a key given as an argument is kept in your shell
history and is visible to other users in process listings.

Options:
  --json              print { valid, reason? , prefix?, environment? } as JSON

Exit status: 0 the key is valid, 1 it is not, 2 usage error.

Example:
  keyward check - < key.txt
`,
  scan: `keyward scan: find keyward keys in files

Usage:
  keyward scan <file>...

Looks for keys in keyward's format with a valid checksum (no store is consulted, no pepper
is needed) and prints one line per key found: file:line:column and the key's prefix and
environment, the secret part redacted. A key is never printed.

Exit status: 0 no key found, 1 a key was found, 2 usage error or a file that cannot be read
(so a hook never passes a file it did not scan).

Example (a git pre-commit hook):
  git diff --cached --name-only --diff-filter=ACM -z | xargs -0 -r keyward scan
`,
}
