package profiles

import (
	"github.com/smdpp/smdpp/tlv"
)

// Application is a decoded `application` element (PEDefinitions PE-Application): a Java Card load
// file and/or the applet instances to create from it.
type Application struct {
	Element   int        // index of the element in the package
	LoadBlock *LoadBlock // nil when the element only creates instances of a load file already present
	Instances []Instance
}

// LoadBlock is an ApplicationLoadPackage: a load file with the parameters of INSTALL [for load]
// (GlobalPlatform Card Specification, INSTALL command; ETSI TS 102 226 §8.2.1.3.2).
type LoadBlock struct {
	LoadPackageAID    []byte
	SecurityDomainAID []byte // nil when absent
	// The load parameters' memory limits in bytes, zero when absent: nonVolatileCodeLimitC6,
	// volatileDataLimitC7 and nonVolatileDataLimitC8.
	NonVolatileCodeLimit, VolatileDataLimit, NonVolatileDataLimit int64
	HashValue                                                     []byte // nil when absent
	// Size is the length in bytes of loadBlockObject, the load file itself.
	Size int
}

// Instance is an ApplicationInstance: the parameters of INSTALL [for install] for one applet
// instance (or, in a securityDomain element, one security domain).
type Instance struct {
	LoadPackageAID, ClassAID, InstanceAID []byte
	ExtraditeSecurityDomainAID            []byte // nil when absent
	Privileges                            []byte
	LifeCycleState                        byte // 07 (SELECTABLE) when absent
	// ApplicationSpecificParameters is the content of applicationSpecificParametersC9, which
	// only the applet interprets.
	ApplicationSpecificParameters []byte
	// System holds systemSpecificParameters (tag EF); all zero when absent.
	System SystemParameters
	// The three fields of applicationParameters (UICCApplicationParameters, tag EA): the UICC
	// toolkit, UICC access and UICC administrative access application specific parameters of
	// ETSI TS 102 226 §8.2.1.3.2, nil when absent.
	ToolkitParameters, AccessParameters, AdministrativeAccessParameters []byte
}

// SystemParameters are the memory figures of the UICC System Specific Parameters (ETSI TS 102 226
// §8.2.1.3.2, GlobalPlatform INSTALL parameters), PEDefinitions ApplicationSystemParameters: big-endian
// byte counts, zero when absent.
//
// These are the only place an ApplicationInstance states memory: applicationSpecificParametersC9
// is opaque data for the applet, and the UICC toolkit parameters (uiccToolkitApplicationSpecific
// ParametersField) carry priority, timers and menu entries, not memory.
type SystemParameters struct {
	VolatileMemoryQuota       int64 // C7: the most reset-transient memory the instance may use
	NonVolatileMemoryQuota    int64 // C8: the most non-volatile memory the instance may use
	VolatileReservedMemory    int64 // D7: volatile memory reserved for the instance at install
	NonVolatileReservedMemory int64 // D8: non-volatile memory reserved for the instance at install
}

// SecurityDomain is a decoded `securityDomain` element (PE-SecurityDomain): the profile's ISD-P
// parameters or a supplementary security domain. Only its instance is decoded.
type SecurityDomain struct {
	Element  int // index of the element in the package
	Instance Instance
}

// parseApplication decodes a PE-Application: app-Header [0], loadBlock [1] OPTIONAL,
// instanceList [2] SEQUENCE OF ApplicationInstance OPTIONAL (automatic tags).
func parseApplication(index int, c tlv.String) (Application, error) {
	a := Application{Element: index}
	c.Skip(ctxC(0)) // PEHeader, already read
	lb, present, ok := c.ReadOptional(ctxC(1))
	if !ok {
		return a, malformed("loadBlock")
	}
	if present {
		b, err := parseLoadBlock(lb)
		if err != nil {
			return a, err
		}
		a.LoadBlock = &b
	}
	list, present, ok := c.ReadOptional(ctxC(2))
	if !ok || present && list.Empty() {
		return a, malformed("instanceList")
	}
	for !list.Empty() {
		v, ok := list.ReadTag(tlv.TagSequence)
		if !ok {
			return a, malformed("instanceList entry is not a SEQUENCE")
		}
		in, err := parseInstance(v)
		if err != nil {
			return a, err
		}
		a.Instances = append(a.Instances, in)
	}
	return a, nil
}

// parseSecurityDomain decodes the instance of a PE-SecurityDomain: sd-Header [0], instance [1]
// ApplicationInstance, then keys and personalisation data, which are not decoded.
func parseSecurityDomain(index int, c tlv.String) (SecurityDomain, error) {
	sd := SecurityDomain{Element: index}
	c.Skip(ctxC(0))
	v, ok := c.ReadTag(ctxC(1))
	if !ok {
		return sd, malformed("no securityDomain instance")
	}
	var err error
	sd.Instance, err = parseInstance(v)
	return sd, err
}

var (
	tagAID = tlv.Application(15, false) // 4F, ApplicationIdentifier
	tagC1  = tlv.Private(1, false)
	tagC4  = tlv.Private(4, false)
	tagC6  = tlv.Private(6, false)
	tagC7  = tlv.Private(7, false)
	tagC8  = tlv.Private(8, false)
	tagC9  = tlv.Private(9, false)
	tagD7  = tlv.Private(23, false)
	tagD8  = tlv.Private(24, false)
	tagEA  = tlv.Private(10, true) // applicationParameters
	tagEF  = tlv.Private(15, true) // systemSpecificParameters
	tagCRT = tlv.ContextSpecific(16, true)
)

// parseLoadBlock decodes an ApplicationLoadPackage (explicitly tagged components).
func parseLoadBlock(c tlv.String) (LoadBlock, error) {
	var b LoadBlock
	if !readAID(&c, &b.LoadPackageAID) {
		return b, malformed("loadPackageAID")
	}
	if c.PeekTag(tagAID) && !readAID(&c, &b.SecurityDomainAID) {
		return b, malformed("securityDomainAID")
	}
	for _, f := range []struct {
		tag tlv.Tag
		out *int64
	}{{tagC6, &b.NonVolatileCodeLimit}, {tagC7, &b.VolatileDataLimit}, {tagC8, &b.NonVolatileDataLimit}} {
		if !readSize(&c, f.tag, 1, 4, f.out) {
			return b, malformed("load parameter %s", f.tag)
		}
	}
	var ok bool
	if b.HashValue, _, ok = c.ReadOptional(tagC1); !ok {
		return b, malformed("hashValue")
	}
	obj, ok := c.ReadTag(tagC4)
	if !ok {
		return b, malformed("no loadBlockObject")
	}
	b.Size = len(obj)
	return b, nil
}

// parseInstance decodes an ApplicationInstance. Its components carry their own tags, so they are
// not automatically tagged: processData is a plain SEQUENCE (30).
func parseInstance(c tlv.String) (Instance, error) {
	in := Instance{LifeCycleState: 0x07}
	if !readAID(&c, &in.LoadPackageAID) || !readAID(&c, &in.ClassAID) || !readAID(&c, &in.InstanceAID) {
		return in, malformed("instance AIDs")
	}
	if c.PeekTag(tagAID) && !readAID(&c, &in.ExtraditeSecurityDomainAID) {
		return in, malformed("extraditeSecurityDomainAID")
	}
	if !c.ReadOctets(ctx(2), &in.Privileges) {
		return in, malformed("no applicationPrivileges")
	}
	lcs, present, ok := c.ReadOptional(ctx(3))
	if !ok || present && len(lcs) != 1 {
		return in, malformed("lifeCycleState")
	}
	if present {
		in.LifeCycleState = lcs[0]
	}
	if !c.ReadOctets(tagC9, &in.ApplicationSpecificParameters) {
		return in, malformed("no applicationSpecificParametersC9")
	}
	sys, present, ok := c.ReadOptional(tagEF)
	if !ok {
		return in, malformed("systemSpecificParameters")
	}
	if present {
		var err error
		if in.System, err = parseSystemParameters(sys); err != nil {
			return in, err
		}
	}
	ap, _, ok := c.ReadOptional(tagEA)
	if !ok ||
		!readOptionalOctets(&ap, ctx(0), &in.ToolkitParameters) ||
		!readOptionalOctets(&ap, ctx(1), &in.AccessParameters) ||
		!readOptionalOctets(&ap, ctx(2), &in.AdministrativeAccessParameters) {
		return in, malformed("applicationParameters")
	}
	if !c.SkipOptional(tlv.TagSequence) || !c.SkipOptional(tagCRT) {
		return in, malformed("processData or controlReferenceTemplate")
	}
	return in, nil
}

// parseSystemParameters reads the memory fields of ApplicationSystemParameters, in module order:
// volatileMemoryQuotaC7 [PRIVATE 7], nonVolatileMemoryQuotaC8 [PRIVATE 8], (CB, CF),
// volatileReservedMemory [PRIVATE 23] (D7), nonVolatileReservedMemory [PRIVATE 24] (D8); each an
// OCTET STRING (SIZE (2..4)). The fields after them do not concern memory and are skipped, but none
// of the memory fields may come out of order.
func parseSystemParameters(c tlv.String) (SystemParameters, error) {
	var s SystemParameters
	if !readSize(&c, tagC7, 2, 4, &s.VolatileMemoryQuota) ||
		!readSize(&c, tagC8, 2, 4, &s.NonVolatileMemoryQuota) ||
		!c.SkipOptional(tlv.Private(11, false)) || !c.SkipOptional(tlv.Private(15, false)) ||
		!readSize(&c, tagD7, 2, 4, &s.VolatileReservedMemory) ||
		!readSize(&c, tagD8, 2, 4, &s.NonVolatileReservedMemory) {
		return s, malformed("systemSpecificParameters memory fields")
	}
	for !c.Empty() {
		var t tlv.Tag
		c.ReadTLV(&t, nil) // checked well-formed
		switch t {
		case tagC7, tagC8, tagD7, tagD8:
			return s, malformed("systemSpecificParameters field %s out of order or repeated", t)
		}
	}
	return s, nil
}

// readAID reads an ApplicationIdentifier ([APPLICATION 15], 5 to 16 octets).
func readAID(c *tlv.String, out *[]byte) bool {
	rest := *c
	var v []byte
	if !rest.ReadOctets(tagAID, &v) || outside(len(v), 5, 16) {
		return false
	}
	*out, *c = v, rest
	return true
}

// readOptionalOctets reads an optional OCTET STRING with the given tag into out.
func readOptionalOctets(c *tlv.String, tag tlv.Tag, out *[]byte) bool {
	v, _, ok := c.ReadOptional(tag)
	*out = v
	return ok
}

// readSize reads an optional OCTET STRING of lo to hi octets holding a big-endian byte count.
func readSize(c *tlv.String, tag tlv.Tag, lo, hi int, out *int64) bool {
	v, present, ok := c.ReadOptional(tag)
	if !ok || present && outside(len(v), lo, hi) {
		return false
	}
	*out = 0
	for _, b := range v {
		*out = *out<<8 | int64(b)
	}
	return true
}
