# device models other than VT-d
libvtdsim_internal_la_SOURCES += \
	models/edu/edu.c \
	models/endpoint/endpoint.c
noinst_HEADERS += \
	models/edu/edu.h \
	models/endpoint/endpoint.h
