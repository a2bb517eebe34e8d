#version 450
#extension GL_GOOGLE_include_directive : require
#define Q8 0
#include "matvec_q4_0_q8_0.glsl"
