"""A software prefetch hint for numba kernels that gather rows at random.

``prefetch(arr, row, col)`` asks the CPU to start loading the cache line that holds
``arr[row, col]`` (a 2-D array) and returns at once: the load overlaps the work done until the
row is used, where an ordinary read would stall on the cache miss. It is a hint only (LLVM's
``llvm.prefetch``, high locality): it never faults and never changes a result. The line is
fetched for writing (``prefetchw`` where the CPU has it), since the SGD kernels that use this
update every row they prefetch: the line then arrives owned, with no second transfer to upgrade
a shared copy, when two threads update the same hot rows.

Design and measurements: docs/decisions/write-prefetch.md.
"""
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

LINE_FLOATS = 16  # float32 values per 64-byte cache line


@intrinsic
def prefetch(typingctx, arr, row, col):
    if not (isinstance(arr, types.Array) and arr.ndim == 2
            and isinstance(row, types.Integer) and isinstance(col, types.Integer)):
        return None
    sig = types.void(arr, row, col)

    def codegen(context, builder, signature, args):
        array_type = signature.args[0]
        array = context.make_array(array_type)(context, builder, args[0])
        r = context.cast(builder, args[1], signature.args[1], types.intp)
        c = context.cast(builder, args[2], signature.args[2], types.intp)
        ptr = cgutils.get_item_pointer(context, builder, array_type, array, [r, c], wraparound=False)
        byte_ptr = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        # LLVM names the intrinsic after its pointer type: "ptr" (opaque pointers) or "i8*".
        name = "llvm.prefetch.p0" if str(byte_ptr) == "ptr" else "llvm.prefetch.p0i8"
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [byte_ptr, i32, i32, i32]),
                                            name)
        builder.call(fn, [builder.bitcast(ptr, byte_ptr), i32(1), i32(3), i32(1)])  # write, high locality, data
        return context.get_dummy_value()

    return sig, codegen


@njit(cache=True, inline="always")
def prefetch_row(arr, row):
    """Prefetch every cache line of the float32 row ``arr[row]``."""
    for col in range(0, arr.shape[1], LINE_FLOATS):
        prefetch(arr, row, col)
