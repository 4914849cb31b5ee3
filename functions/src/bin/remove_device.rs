admit_functions::main!(remove_device);
