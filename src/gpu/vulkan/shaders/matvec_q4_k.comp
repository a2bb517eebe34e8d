#version 450
#extension GL_GOOGLE_include_directive : require
#define Q5 0
#include "matvec_q4_k_q5_k.glsl"
