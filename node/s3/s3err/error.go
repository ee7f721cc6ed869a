package s3err

import (
	"errors"
	"fmt"
	"strings"
)

// Error is an S3 error: a code and what the client is told about it, plus a
// cause for the log. Build it with New, Newf or Wrap, or as a literal.
type Error struct {
	// Code is the S3 error code; it decides the HTTP status.
	Code Code
	// Message is sent as <Message>; empty means the code's default.
	Message string
	// BucketName and Key, when set, are sent as <BucketName> and <Key>.
	BucketName string
	Key        string
	// Resource overrides <Resource>, which is otherwise the request path.
	Resource string
	// Details are extra elements of the XML body, in order, after
	// <Message> (AWS sends e.g. <RequestTime> and <ServerTime> with
	// RequestTimeTooSkewed, <Region> with a wrong-region credential).
	// Names that are not plain ASCII letters and digits are dropped when
	// writing, so that no detail can break the XML.
	Details []Detail
	// Err is the cause. It is logged, never sent to the client.
	Err error
}

// Detail is one extra element of an error's XML body.
type Detail struct {
	Name, Value string
}

// New returns an error of the given code with its default message.
func New(code Code) *Error { return &Error{Code: code} }

// Newf returns an error of the given code whose client message is the
// formatted string. The message is sent to the client: put nothing in it
// that the client should not see (use Wrap for causes).
func Newf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an error of the given code, with its default message, caused
// by err (kept for logs and errors.Is/As, not sent to the client).
func Wrap(code Code, err error) *Error { return &Error{Code: code, Err: err} }

// WithCause sets the cause and returns e, for chaining after Newf.
func (e *Error) WithCause(err error) *Error {
	e.Err = err
	return e
}

// WithDetail appends an extra XML element and returns e.
func (e *Error) WithDetail(name, value string) *Error {
	e.Details = append(e.Details, Detail{name, value})
	return e
}

// Status is the HTTP status of the error's code.
func (e *Error) Status() int { return e.Code.Status() }

// ClientMessage is what <Message> says: Message or the code's default.
func (e *Error) ClientMessage() string {
	if e.Message != "" {
		return e.Message
	}
	return e.Code.Message()
}

// Error formats code, message and cause, for logs.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("s3: ")
	b.WriteString(string(e.Code))
	b.WriteString(": ")
	b.WriteString(e.ClientMessage())
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is the error's code, so that
// errors.Is(err, s3err.NoSuchKey) works through wrapping.
func (e *Error) Is(target error) bool {
	c, ok := target.(Code)
	return ok && c == e.Code
}

// From returns the S3 error that err stands for: the first *Error in its
// chain, else a bare Code in its chain as an *Error, else InternalError
// caused by err. From(nil) is nil.
func From(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var c Code
	if errors.As(err, &c) {
		return &Error{Code: c, Err: err}
	}
	return Wrap(InternalError, err)
}

// CodeOf is the code From(err) would carry; "" for nil.
func CodeOf(err error) Code {
	if e := From(err); e != nil {
		return e.Code
	}
	return ""
}
