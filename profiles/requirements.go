package profiles

// Requirements is what a package needs of a card, in bytes, as far as the package states it:
// zero wherever it states nothing.
type Requirements struct {
	// Size is the length of the package.
	Size int64
	// LoadFileSize is the sum of the sizes of the load files (loadBlockObject) it carries.
	LoadFileSize int64
	// LoadFiles are the load files, in package order.
	LoadFiles []LoadFileRequirement
	// Applets are the instances the package creates: the applet instances of its application
	// elements and the security domains of its securityDomain elements, in element order.
	Applets []AppletRequirement
}

// LoadFileRequirement is one load file with the memory limits of its load parameters.
type LoadFileRequirement struct {
	Element int    // index of its application element
	AID     []byte // loadPackageAID
	Size    int64  // bytes of loadBlockObject
	// C6, C7 and C8 of the load parameters: non-volatile code, volatile data and non-volatile
	// data limits; zero when absent.
	NonVolatileCode, VolatileData, NonVolatileData int64
}

// AppletRequirement is one instance the package creates, in the terms of the memory model
// (CanInstall): Applet.C7 and Applet.D7 come from the instance's system specific parameters (C7
// volatile memory quota, D7 volatile reserved memory). Applet.R (actual reset-transient use) and
// Applet.D (deselect-transient use) are zero: SAIP has no field for them, so a caller that knows
// them (from the applet vendor) sets them before Check.
type AppletRequirement struct {
	Element     int    // index of its application or securityDomain element
	Name        string // "application" or "securityDomain"
	InstanceAID []byte
	Applet      Applet
	// NonVolatileQuota (C8) and NonVolatileReserved (D8) are the instance's non-volatile
	// memory quota and reservation; zero when absent.
	NonVolatileQuota, NonVolatileReserved int64
}

// Requirements returns what the package needs of a card.
func (p *Package) Requirements() Requirements {
	r := Requirements{Size: int64(p.Size)}
	add := func(element int, name string, in Instance) {
		r.Applets = append(r.Applets, AppletRequirement{
			Element:     element,
			Name:        name,
			InstanceAID: in.InstanceAID,
			Applet: Applet{
				C7: in.System.VolatileMemoryQuota,
				D7: in.System.VolatileReservedMemory,
			},
			NonVolatileQuota:    in.System.NonVolatileMemoryQuota,
			NonVolatileReserved: in.System.NonVolatileReservedMemory,
		})
	}
	a, s := p.Applications, p.SecurityDomains
	for len(a) > 0 || len(s) > 0 {
		// Merge the two lists in element order.
		if len(s) == 0 || len(a) > 0 && a[0].Element < s[0].Element {
			app := a[0]
			a = a[1:]
			if lb := app.LoadBlock; lb != nil {
				r.LoadFileSize += int64(lb.Size)
				r.LoadFiles = append(r.LoadFiles, LoadFileRequirement{
					Element:         app.Element,
					AID:             lb.LoadPackageAID,
					Size:            int64(lb.Size),
					NonVolatileCode: lb.NonVolatileCodeLimit,
					VolatileData:    lb.VolatileDataLimit,
					NonVolatileData: lb.NonVolatileDataLimit,
				})
			}
			for _, in := range app.Instances {
				add(app.Element, "application", in)
			}
			continue
		}
		add(s[0].Element, "securityDomain", s[0].Instance)
		s = s[1:]
	}
	return r
}
