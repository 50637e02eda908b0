package contactmerge

import (
	"errors"
	"fmt"
)

// Error codes. Each maps once to a CLI exit code (cmd/contactmerge) and an
// HTTP status (web).
const (
	ECONFLICT = "conflict"  // a lost race: state, version or lease changed
	EINTERNAL = "internal"  // a bug or an unexpected failure
	EINVALID  = "invalid"   // bad input from the user (exit code 2)
	ENOTFOUND = "not_found" // no such group, contact or scan
)

// Error is an application error with a machine-readable code and a message
// fit for the user.
type Error struct {
	Code    string
	Message string
}

// Error implements the error interface.
func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	}
	return EINTERNAL
}

// IsCode reports whether err carries code.
func IsCode(err error, code string) bool { return err != nil && ErrorCode(err) == code }
