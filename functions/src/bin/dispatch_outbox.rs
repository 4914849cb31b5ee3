admit_functions::main!(dispatch_outbox);
