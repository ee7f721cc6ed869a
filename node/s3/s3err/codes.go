package s3err

import "net/http"

// Code is an S3 error code, as sent in <Code>. A Code is an error: it can be
// returned as is, and errors.Is(err, code) reports whether err carries it
// (directly or as the code of an *Error in its chain).
type Code string

// Error returns the code itself.
func (c Code) Error() string { return string(c) }

// S3 error codes. The status and default message of each are in the table
// below; AWS's "Error Responses" list is the reference, with the wording
// shortened here and there. InvalidObjectName is not an AWS code (AWS takes
// any UTF-8 key); it is what gridstore answers for keys its drives cannot
// store (DESIGN §4), so that such keys fail as a client error, not a 500.
const (
	AccessDenied                      Code = "AccessDenied"
	AuthorizationHeaderMalformed      Code = "AuthorizationHeaderMalformed"
	AuthorizationQueryParametersError Code = "AuthorizationQueryParametersError"
	BadDigest                         Code = "BadDigest"
	BucketAlreadyExists               Code = "BucketAlreadyExists"
	BucketAlreadyOwnedByYou           Code = "BucketAlreadyOwnedByYou"
	BucketNotEmpty                    Code = "BucketNotEmpty"
	EntityTooLarge                    Code = "EntityTooLarge"
	EntityTooSmall                    Code = "EntityTooSmall"
	ExpiredToken                      Code = "ExpiredToken"
	IncompleteBody                    Code = "IncompleteBody"
	InternalError                     Code = "InternalError"
	InvalidAccessKeyID                Code = "InvalidAccessKeyId"
	InvalidArgument                   Code = "InvalidArgument"
	InvalidBucketName                 Code = "InvalidBucketName"
	InvalidDigest                     Code = "InvalidDigest"
	InvalidLocationConstraint         Code = "InvalidLocationConstraint"
	InvalidObjectName                 Code = "InvalidObjectName"
	InvalidPart                       Code = "InvalidPart"
	InvalidPartNumber                 Code = "InvalidPartNumber"
	InvalidPartOrder                  Code = "InvalidPartOrder"
	InvalidRange                      Code = "InvalidRange"
	InvalidRequest                    Code = "InvalidRequest"
	InvalidStorageClass               Code = "InvalidStorageClass"
	KeyTooLongError                   Code = "KeyTooLongError"
	MalformedTrailerError             Code = "MalformedTrailerError"
	MalformedXML                      Code = "MalformedXML"
	MaxMessageLengthExceeded          Code = "MaxMessageLengthExceeded"
	MetadataTooLarge                  Code = "MetadataTooLarge"
	MethodNotAllowed                  Code = "MethodNotAllowed"
	MissingContentLength              Code = "MissingContentLength"
	MissingRequestBodyError           Code = "MissingRequestBodyError"
	NoSuchBucket                      Code = "NoSuchBucket"
	NoSuchKey                         Code = "NoSuchKey"
	NoSuchUpload                      Code = "NoSuchUpload"
	NoSuchVersion                     Code = "NoSuchVersion"
	NotImplemented                    Code = "NotImplemented"
	NotModified                       Code = "NotModified"
	PreconditionFailed                Code = "PreconditionFailed"
	RequestHeaderSectionTooLarge      Code = "RequestHeaderSectionTooLarge"
	RequestTimeTooSkewed              Code = "RequestTimeTooSkewed"
	RequestTimeout                    Code = "RequestTimeout"
	ServiceUnavailable                Code = "ServiceUnavailable"
	SignatureDoesNotMatch             Code = "SignatureDoesNotMatch"
	SlowDown                          Code = "SlowDown"
	XAmzContentSHA256Mismatch         Code = "XAmzContentSHA256Mismatch"
)

type entry struct {
	status  int
	message string
}

var table = map[Code]entry{
	AccessDenied:                      {http.StatusForbidden, "Access Denied."},
	AuthorizationHeaderMalformed:      {http.StatusBadRequest, "The authorization header is malformed."},
	AuthorizationQueryParametersError: {http.StatusBadRequest, "The query-string authentication parameters are malformed."},
	BadDigest:                         {http.StatusBadRequest, "The Content-MD5 or checksum you specified did not match what we received."},
	BucketAlreadyExists:               {http.StatusConflict, "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again."},
	BucketAlreadyOwnedByYou:           {http.StatusConflict, "The bucket you tried to create already exists, and you own it."},
	BucketNotEmpty:                    {http.StatusConflict, "The bucket you tried to delete is not empty."},
	EntityTooLarge:                    {http.StatusBadRequest, "Your proposed upload exceeds the maximum allowed object size."},
	EntityTooSmall:                    {http.StatusBadRequest, "Your proposed upload is smaller than the minimum allowed object size."},
	ExpiredToken:                      {http.StatusBadRequest, "The provided token has expired."},
	IncompleteBody:                    {http.StatusBadRequest, "You did not provide the number of bytes specified by the Content-Length HTTP header."},
	InternalError:                     {http.StatusInternalServerError, "We encountered an internal error. Please try again."},
	InvalidAccessKeyID:                {http.StatusForbidden, "The access key ID you provided does not exist in our records."},
	InvalidArgument:                   {http.StatusBadRequest, "Invalid argument."},
	InvalidBucketName:                 {http.StatusBadRequest, "The specified bucket is not valid."},
	InvalidDigest:                     {http.StatusBadRequest, "The Content-MD5 or checksum you specified is not valid."},
	InvalidLocationConstraint:         {http.StatusBadRequest, "The specified location constraint is not valid."},
	InvalidObjectName:                 {http.StatusBadRequest, "The specified object name is not valid."},
	InvalidPart:                       {http.StatusBadRequest, "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag."},
	InvalidPartNumber:                 {http.StatusRequestedRangeNotSatisfiable, "The requested partnumber is not satisfiable."},
	InvalidPartOrder:                  {http.StatusBadRequest, "The list of parts was not in ascending order. Parts must be ordered by part number."},
	InvalidRange:                      {http.StatusRequestedRangeNotSatisfiable, "The requested range is not satisfiable."},
	InvalidRequest:                    {http.StatusBadRequest, "Invalid request."},
	InvalidStorageClass:               {http.StatusBadRequest, "The storage class you specified is not valid."},
	KeyTooLongError:                   {http.StatusBadRequest, "Your key is too long."},
	MalformedTrailerError:             {http.StatusBadRequest, "The request contained trailing data that was not well-formed or did not conform to our published schema."},
	MalformedXML:                      {http.StatusBadRequest, "The XML you provided was not well-formed or did not validate against our published schema."},
	MaxMessageLengthExceeded:          {http.StatusBadRequest, "Your request was too big."},
	MetadataTooLarge:                  {http.StatusBadRequest, "Your metadata headers exceed the maximum allowed metadata size."},
	MethodNotAllowed:                  {http.StatusMethodNotAllowed, "The specified method is not allowed against this resource."},
	MissingContentLength:              {http.StatusLengthRequired, "You must provide the Content-Length HTTP header."},
	MissingRequestBodyError:           {http.StatusBadRequest, "Request body is empty."},
	NoSuchBucket:                      {http.StatusNotFound, "The specified bucket does not exist."},
	NoSuchKey:                         {http.StatusNotFound, "The specified key does not exist."},
	NoSuchUpload:                      {http.StatusNotFound, "The specified multipart upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."},
	NoSuchVersion:                     {http.StatusNotFound, "The specified version does not exist."},
	NotImplemented:                    {http.StatusNotImplemented, "A header or parameter you provided implies functionality that is not implemented."},
	NotModified:                       {http.StatusNotModified, "Not Modified."},
	PreconditionFailed:                {http.StatusPreconditionFailed, "At least one of the preconditions you specified did not hold."},
	RequestHeaderSectionTooLarge:      {http.StatusBadRequest, "Your request header section exceeds the maximum allowed size."},
	RequestTimeTooSkewed:              {http.StatusForbidden, "The difference between the request time and the server's time is too large."},
	RequestTimeout:                    {http.StatusBadRequest, "Your socket connection to the server was not read from or written to within the timeout period."},
	ServiceUnavailable:                {http.StatusServiceUnavailable, "The service is unavailable. Please retry."},
	SignatureDoesNotMatch:             {http.StatusForbidden, "The request signature we calculated does not match the signature you provided. Check your key and signing method."},
	SlowDown:                          {http.StatusServiceUnavailable, "Please reduce your request rate."},
	XAmzContentSHA256Mismatch:         {http.StatusBadRequest, "The provided 'x-amz-content-sha256' header does not match what was computed."},
}

// Status is the HTTP status S3 answers the code with; 500 for a code this
// package does not know (so a typo fails loudly as a server error, not as
// a client error the client would not retry).
func (c Code) Status() int {
	if e, ok := table[c]; ok {
		return e.status
	}
	return http.StatusInternalServerError
}

// Message is the default message of the code, sent when an error gives none.
func (c Code) Message() string {
	if e, ok := table[c]; ok {
		return e.message
	}
	return table[InternalError].message
}

// Known reports whether the code is in this package's table.
func (c Code) Known() bool {
	_, ok := table[c]
	return ok
}

// Codes lists every code of the table, in no particular order (for tests
// and documentation generators).
func Codes() []Code {
	out := make([]Code, 0, len(table))
	for c := range table {
		out = append(out, c)
	}
	return out
}
