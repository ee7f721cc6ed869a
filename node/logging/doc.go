// Package logging builds gridstore's logger. It is the one place that turns
// configuration into a *zap.Logger, so every command and every node logs the
// same way.
//
// Configuration comes from the environment and, overriding it, from command
// line flags:
//
//	GRIDSTORE_LOG_LEVEL   -log-level   debug | info | warn | error   (default info)
//	GRIDSTORE_LOG_FORMAT  -log-format  console | json                (default console)
//
// Typical use in a command:
//
//	opts := logging.OptionsFromEnv()
//	opts.RegisterFlags(fs) // flags given on the command line win over the env
//	if err := fs.Parse(args); err != nil { ... }
//	log, err := logging.New(opts)
//	if err != nil { ... }
//	defer log.Sync()
//
// Console output is for people (one aligned line per entry); json is for log
// collectors. Both write to stderr unless Options.Output says otherwise.
package logging
