#version 450
#extension GL_GOOGLE_include_directive : require
#include "matvec_iq4_xs.glsl"
