//! poolsim: a deterministic discrete-event simulator of KubeVirt VirtualMachinePool
//! behaviour on a Kubernetes cluster. See ARCHITECTURE.md for the code map.

pub mod output;
