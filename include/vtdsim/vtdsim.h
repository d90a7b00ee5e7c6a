/*
 * vtdsim: a cycle-approximate emulator of Intel VT-d and PCIe hardware.
 * Umbrella header of the public API (link with `pkg-config --libs vtdsim`).
 */
#ifndef VTDSIM_VTDSIM_H
#define VTDSIM_VTDSIM_H

#include "vtdsim/sim.h"
#include "vtdsim/platform.h"
#include "vtdsim/qtest.h"

#endif
